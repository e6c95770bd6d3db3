from django.apps import AppConfig


class OnCallConfig(AppConfig):
    name = "ceres.oncall"
    label = "oncall"
    verbose_name = "On-call"
