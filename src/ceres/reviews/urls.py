from django.urls import path

from ceres.reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.questions_page, name="questions"),
    path("<id:question_id>/documented/", views.question_documented, name="documented"),
]
