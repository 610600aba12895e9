from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "incidentdesk.core"
    label = "core"

    def ready(self) -> None:
        from incidentdesk.core import wakeup  # lazy: it imports the task queue's models

        wakeup.connect()
