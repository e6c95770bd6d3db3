from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "ceres.automations"
    label = "automations"
    verbose_name = "Automations"

    def ready(self) -> None:
        from ceres.automations import handlers

        handlers.register()
