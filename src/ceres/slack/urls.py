from django.urls import path

from ceres.slack import webhooks

app_name = "slack"
urlpatterns = [
    path("events", webhooks.events, name="events"),
    path("interactivity", webhooks.interactivity, name="interactivity"),
]
