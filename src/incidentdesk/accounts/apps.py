from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "incidentdesk.accounts"
    label = "accounts"
