from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "incidentdesk.statuspage"
    label = "statuspage"

    def ready(self) -> None:
        from incidentdesk.comms.routing import subscribers_wanted
        from incidentdesk.core import periodic
        from incidentdesk.core.signals import serve_starting
        from incidentdesk.incidents.timeline import entry_appended

        from .services import on_entry_appended
        from .subscriptions import plan_subscribers

        entry_appended.connect(on_entry_appended, dispatch_uid="statuspage.publish")
        subscribers_wanted.connect(plan_subscribers, dispatch_uid="statuspage.plan_subscribers")
        serve_starting.connect(_prepare_for_serve, dispatch_uid="statuspage.prepare_for_serve")

        periodic.register("incidentdesk.statuspage.tasks.maintenance_tick")
        periodic.register("incidentdesk.statuspage.tasks.refresh_public_front")


def _prepare_for_serve(**kwargs: object) -> None:
    # rendering the public front needs the views and the API's documents, which the worker
    # never uses; only `serve`, at its start, pays for them here
    from .prepared import prepare_for_serve  # lazy: only serve renders the front

    prepare_for_serve(**kwargs)
