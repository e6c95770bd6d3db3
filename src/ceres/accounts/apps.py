from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ceres.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from ceres.accounts.selectors import confidential_names
        from ceres.core import firewall

        firewall.register_names_provider(confidential_names)
