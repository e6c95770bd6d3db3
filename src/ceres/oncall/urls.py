from django.urls import path

from ceres.oncall import alarm_views, handoff_views, integration_views, views

app_name = "oncall"
urlpatterns = [
    path("", views.schedules, name="schedules"),
    path("alarms/", alarm_views.alarm_list, name="alarms"),
    path("alarms/<id:alarm_id>/", alarm_views.alarm_detail, name="alarm"),
    path("alarms/<id:alarm_id>/acknowledge/", alarm_views.acknowledge, name="alarm_ack"),
    path("alarms/<id:alarm_id>/resolve/", alarm_views.resolve, name="alarm_resolve"),
    path("integrations/", integration_views.integrations_page, name="integrations"),
    path(
        "integrations/<id:integration_id>/",
        integration_views.integration_page,
        name="integration",
    ),
    path(
        "integrations/<id:integration_id>/active/",
        integration_views.set_active,
        name="integration_active",
    ),
    path(
        "integrations/<id:integration_id>/rotate-token/",
        integration_views.rotate_token,
        name="integration_rotate_token",
    ),
    path("handoffs/", handoff_views.handoffs_page, name="handoffs"),
    path("handoffs/<id:summary_id>/", handoff_views.handoff_page, name="handoff"),
    path("handoffs/<id:summary_id>/post/", handoff_views.handoff_post, name="handoff_post"),
    path("retros/", handoff_views.retros_page, name="retros"),
    path("retros/new/", handoff_views.retro_new, name="retro_new"),
    path("retros/alarms/", handoff_views.retro_alarms, name="retro_alarms"),
    path("retros/<id:retro_id>/", handoff_views.retro_page, name="retro"),
    path("<slug:key>/overrides/", views.add_override, name="add_override"),
    path(
        "<slug:key>/overrides/<id:override_id>/remove/",
        views.remove_override,
        name="remove_override",
    ),
]
