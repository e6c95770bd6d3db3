from django.urls import path

from ceres.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list_page, name="list"),
    path("new/", views.account_create_page, name="create"),
    path("<int:account_id>/", views.account_page, name="detail"),
]
