from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "ceres.sla"
    label = "sla"
    verbose_name = "SLA"
