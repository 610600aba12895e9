from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "incidentdesk.ingest"
    label = "ingest"
