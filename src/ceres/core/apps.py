from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ceres.core"
    label = "core"
    verbose_name = "Ceres core"
