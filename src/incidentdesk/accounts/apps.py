from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "incidentdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from .signals import lockout_audited

        user_locked_out.connect(lockout_audited, dispatch_uid="incidentdesk.accounts.lockout_audit")
