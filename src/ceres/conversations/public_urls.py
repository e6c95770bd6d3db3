"""The public pages of conversations: the "Contact us" form (mounted at /contact/)."""

from django.urls import path

from ceres.conversations import public_views

app_name = "contact"

urlpatterns = [
    path("", public_views.contact, name="form"),
    path("thanks/", public_views.thanks, name="thanks"),
]
