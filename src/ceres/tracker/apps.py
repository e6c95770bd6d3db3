from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "ceres.tracker"
    label = "tracker"
    verbose_name = "Tracker"
