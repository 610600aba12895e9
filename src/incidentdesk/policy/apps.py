from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "incidentdesk.policy"
    label = "policy"

    def ready(self) -> None:
        from incidentdesk.accounts import factors

        from .selectors import second_factor_roles

        factors.require_second_factor_from(second_factor_roles)
