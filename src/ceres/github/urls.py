from django.urls import path

from ceres.github import webhooks

app_name = "github"
urlpatterns = [path("webhook", webhooks.webhook, name="webhook")]
