from django.apps import AppConfig


class GitHubConfig(AppConfig):
    name = "ceres.github"
    label = "github"
    verbose_name = "GitHub"

    def ready(self) -> None:
        from ceres.github import handlers, outbox, tracker

        outbox.register()
        handlers.register()
        # The tracker's GitHub backend (register_backend("github", GitHubBackend())) and the
        # senders of its outbox messages.
        tracker.register()
