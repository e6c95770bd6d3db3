from django.urls import path

import ceres.core.web  # noqa: F401  (registers the <id:...> converter)
from ceres.oncall import views

app_name = "oncall"
urlpatterns = [
    path("", views.schedules, name="schedules"),
    path("<slug:key>/overrides/", views.add_override, name="add_override"),
    path(
        "<slug:key>/overrides/<id:override_id>/remove/",
        views.remove_override,
        name="remove_override",
    ),
]
