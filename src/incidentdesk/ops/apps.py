from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The commands that run the whole product (init, worker, demo, backup, restore, ...).

    They sit above every domain app, so `core`, the base, imports none of them."""

    name = "incidentdesk.ops"
    label = "ops"
    verbose_name = "Operations"
