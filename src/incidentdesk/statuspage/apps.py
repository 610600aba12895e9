from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "incidentdesk.statuspage"
    label = "statuspage"

    def ready(self) -> None:
        from incidentdesk.core import periodic
        from incidentdesk.incidents.timeline import entry_appended

        from .services import on_entry_appended

        entry_appended.connect(on_entry_appended, dispatch_uid="statuspage.publish")

        periodic.register("incidentdesk.statuspage.tasks.maintenance_tick")
