from django.urls import path

from ceres.slack import views

app_name = "slack_settings"
urlpatterns = [
    path("", views.slack_settings, name="settings"),
    path(
        "community/<slug:channel_id>/remove/",
        views.community_channel_remove,
        name="community_remove",
    ),
]
