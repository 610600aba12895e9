from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "incidentdesk.policy"
    label = "policy"
