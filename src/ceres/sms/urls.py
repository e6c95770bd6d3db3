from django.urls import path

from ceres.sms import webhooks

app_name = "sms"
urlpatterns = [path("sms", webhooks.incoming, name="incoming")]
