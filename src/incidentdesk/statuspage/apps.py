from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "incidentdesk.statuspage"
    label = "statuspage"

    def ready(self) -> None:
        from incidentdesk.comms.routing import subscribers_wanted
        from incidentdesk.core import periodic
        from incidentdesk.core.signals import serve_starting
        from incidentdesk.incidents.timeline import entry_appended

        from .prepared import prepare_for_serve
        from .services import on_entry_appended
        from .subscriptions import plan_subscribers

        entry_appended.connect(on_entry_appended, dispatch_uid="statuspage.publish")
        subscribers_wanted.connect(plan_subscribers, dispatch_uid="statuspage.plan_subscribers")
        serve_starting.connect(prepare_for_serve, dispatch_uid="statuspage.prepare_for_serve")

        periodic.register("incidentdesk.statuspage.tasks.maintenance_tick")
        periodic.register("incidentdesk.statuspage.tasks.refresh_public_front")
