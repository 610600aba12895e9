from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "incidentdesk.reviews"
    label = "reviews"
