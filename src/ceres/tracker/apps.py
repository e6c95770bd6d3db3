from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "ceres.tracker"
    label = "tracker"
    verbose_name = "Tracker"

    def ready(self) -> None:
        from ceres.tracker import tasks  # noqa: F401  (declares the periodic sweeps)
