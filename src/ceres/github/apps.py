from django.apps import AppConfig


class GitHubConfig(AppConfig):
    name = "ceres.github"
    label = "github"
    verbose_name = "GitHub"

    def ready(self) -> None:
        from ceres.github import handlers, outbox

        outbox.register()
        handlers.register()
