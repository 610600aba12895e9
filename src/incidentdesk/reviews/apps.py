from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "incidentdesk.reviews"
    label = "reviews"

    def ready(self) -> None:
        from incidentdesk.core import periodic
        from incidentdesk.incidents.services import close_requested

        from .services import close_check

        close_requested.connect(close_check, dispatch_uid="reviews.close_check")
        periodic.register("incidentdesk.reviews.tasks.remind_action_items")
        periodic.register("incidentdesk.reviews.tasks.check_reviews_due")
