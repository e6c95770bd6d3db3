from django.apps import AppConfig


class GitHubConfig(AppConfig):
    name = "ceres.github"
    label = "github"
    verbose_name = "GitHub"
