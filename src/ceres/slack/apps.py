from django.apps import AppConfig


class SlackConfig(AppConfig):
    name = "ceres.slack"
    label = "slack"
    verbose_name = "Slack"

    def ready(self) -> None:
        from ceres.slack import handlers, outbox

        outbox.register()
        handlers.register()
