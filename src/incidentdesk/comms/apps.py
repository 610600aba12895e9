from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "incidentdesk.comms"
    label = "comms"
    verbose_name = "Communications"

    def ready(self) -> None:
        from incidentdesk.core.periodic import register
        from incidentdesk.incidents.timeline import entry_appended

        from .routing import on_entry_appended

        entry_appended.connect(on_entry_appended, dispatch_uid="comms.routing")
        register("incidentdesk.comms.tasks.sweep_deliveries")
