from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "ceres.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self) -> None:
        from ceres.sms import checks, outbox

        checks.register()
        outbox.register()
