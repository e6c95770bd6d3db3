from django.urls import path

from ceres.team import views  # importing the views registers the <id:...> converter

app_name = "team"
urlpatterns = [
    path("", views.team_page, name="list"),
    path("<id:person_id>/", views.person_page, name="person"),
    path("<id:person_id>/card/", views.person_card, name="person_card"),
    path("<id:person_id>/edit/", views.person_edit, name="person_edit"),
    path("tokens/", views.tokens_page, name="tokens"),
    path("tokens/<id:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
