from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "incidentdesk.statuspage"
    label = "statuspage"

    def ready(self) -> None:
        from incidentdesk.core import periodic

        from . import services  # noqa: F401  (connects the timeline receiver)

        periodic.register("incidentdesk.statuspage.tasks.maintenance_tick")
        periodic.register("incidentdesk.statuspage.tasks.refresh_public_front")
