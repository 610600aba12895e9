from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "incidentdesk.comms"
    label = "comms"
