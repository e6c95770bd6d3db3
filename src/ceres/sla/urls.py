from django.urls import path

from ceres.sla import views

app_name = "sla"
urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<slug:key>/", views.policy_edit, name="policy"),
    path("policies/<slug:key>/move/", views.policy_move, name="policy_move"),
    path("policies/<slug:key>/delete/", views.policy_delete, name="policy_delete"),
    path("policies/<slug:key>/preview/", views.policy_preview, name="policy_preview"),
    path("calendars/new/", views.calendar_create, name="calendar_create"),
    path("calendars/<slug:key>/", views.calendar_edit, name="calendar"),
    path("calendars/<slug:key>/delete/", views.calendar_delete, name="calendar_delete"),
]
