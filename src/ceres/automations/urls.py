from django.urls import path

from ceres.automations import views

app_name = "automations"
urlpatterns = [
    path("", views.rules_page, name="rules"),
    path("new/", views.rule_create, name="create"),
    path("<slug:key>/", views.rule_page, name="rule"),
    path("<slug:key>/enabled/", views.rule_enabled, name="enabled"),
    path("<slug:key>/edit/", views.rule_edit, name="edit"),
]
