from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "incidentdesk.ingest"
    label = "ingest"

    def ready(self) -> None:
        from incidentdesk.core.periodic import register
        from incidentdesk.incidents.timeline import entry_appended

        from .listeners import on_entry_appended

        entry_appended.connect(on_entry_appended, dispatch_uid="ingest.escalation")
        register("incidentdesk.ingest.tasks.check_escalations")
