from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "ceres.reviews"
    label = "reviews"
    verbose_name = "Reviews"
