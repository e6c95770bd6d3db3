from django.urls import path

from ceres.team import views

app_name = "team"
urlpatterns = [
    path("", views.team_page, name="list"),
    path("<int:person_id>/", views.person_page, name="person"),
    path("tokens/", views.tokens_page, name="tokens"),
]
