from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "incidentdesk.portal"
    label = "portal"
