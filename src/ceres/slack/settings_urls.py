from django.urls import path

from ceres.slack import views

app_name = "slack_settings"
urlpatterns = [
    path("", views.slack_settings, name="settings"),
    path("reactions/", views.reaction_save, name="reaction_save"),
    path("reactions/<str:reaction>/remove/", views.reaction_remove, name="reaction_remove"),
    path(
        "community/<slug:channel_id>/remove/",
        views.community_channel_remove,
        name="community_remove",
    ),
]
