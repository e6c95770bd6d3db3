from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ceres.demo"
    label = "demo"
    verbose_name = "Demo data"
