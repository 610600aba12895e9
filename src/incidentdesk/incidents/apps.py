from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidentdesk.incidents"
    label = "incidents"

    def ready(self) -> None:
        from incidentdesk.core import periodic

        periodic.register("incidentdesk.incidents.tasks.check_sla_clocks")
