from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "incidentdesk.reviews"
    label = "reviews"

    def ready(self) -> None:
        from incidentdesk.core import periodic
        from incidentdesk.incidents import services as incident_services

        from .services import close_check

        if close_check not in incident_services.CLOSE_CHECKS:
            incident_services.CLOSE_CHECKS.append(close_check)
        periodic.register("incidentdesk.reviews.tasks.remind_action_items")
        periodic.register("incidentdesk.reviews.tasks.check_reviews_due")
