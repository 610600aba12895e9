from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "incidentdesk.portal"
    label = "portal"

    def ready(self) -> None:
        from . import services  # noqa: F401  (connects the duplicate's carry-over)
