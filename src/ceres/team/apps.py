from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "ceres.team"
    label = "team"
    verbose_name = "Team"
