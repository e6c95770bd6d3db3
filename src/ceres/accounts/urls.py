from django.urls import path

from ceres.accounts import views  # importing the views registers the <id:...> converter
from ceres.conversations import status_views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list_page, name="list"),
    path("new/", views.account_create_page, name="create"),
    path("new/codenames/", views.codename_suggestions, name="codename_suggestions"),
    path("<id:account_id>/", views.account_page, name="detail"),
    path("<id:account_id>/fields/", views.account_fields, name="fields"),
    path("<id:account_id>/status/", status_views.account_status_page, name="status"),
    path("<id:account_id>/fields/edit/", views.account_fields_edit, name="fields_edit"),
    path("<id:account_id>/contacts/", views.contact_add, name="contact_add"),
    path(
        "<id:account_id>/contacts/<id:contact_id>/make-dri/",
        views.contact_make_dri,
        name="make_dri",
    ),
    path("checklist/<id:item_id>/", views.checklist_item, name="checklist_item"),
]
