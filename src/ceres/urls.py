from functools import partial

from django.contrib import admin
from django.urls import include, path
from ninja.openapi.views import openapi_view

from ceres.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", partial(openapi_view, api=api), name="api-docs"),
    path("", include("ceres.core.urls")),
    path("team/", include("ceres.team.urls")),
    path("accounts/", include("ceres.accounts.urls")),
    path("inbox/", include("ceres.conversations.urls")),
    path("contact/", include("ceres.conversations.public_urls")),
    path("settings/sla/", include("ceres.sla.urls")),
    path("settings/automations/", include("ceres.automations.urls")),
    path("settings/slack/", include("ceres.slack.settings_urls")),
    path("integrations/slack/", include("ceres.slack.urls")),
    path("integrations/github/", include("ceres.github.urls")),
    path("integrations/alerts/", include("ceres.oncall.webhook_urls")),
    path("integrations/twilio/", include("ceres.sms.urls")),
    path("questions/", include("ceres.reviews.urls")),
    path("tracker/", include("ceres.tracker.urls")),
    path("oncall/", include("ceres.oncall.urls")),
]
