"""Mounted at `integrations/alerts/`: the alarm receiver, apart from the signed-in pages."""

from django.urls import path

from ceres.oncall import webhooks

app_name = "oncall_alerts"
urlpatterns = [path("<str:token>", webhooks.alerts, name="alerts")]
