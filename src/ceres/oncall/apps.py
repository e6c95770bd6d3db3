from django.apps import AppConfig


class OnCallConfig(AppConfig):
    name = "ceres.oncall"
    label = "oncall"
    verbose_name = "On-call"

    def ready(self) -> None:
        from ceres.oncall import slack_buttons, sms_replies

        slack_buttons.register()
        sms_replies.register()
