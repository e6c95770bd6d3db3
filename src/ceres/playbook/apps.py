from django.apps import AppConfig


class PlaybookConfig(AppConfig):
    name = "ceres.playbook"
    label = "playbook"
    verbose_name = "Playbook"
