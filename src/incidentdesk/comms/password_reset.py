"""Password reset by e-mail: a link to set a new password, within limits per address and client."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from incidentdesk.accounts.models import Role, User
from incidentdesk.core import clock
from incidentdesk.core.models import AuditEntry
from incidentdesk.core.services import audit_record

from .models import ChannelKind
from .services import message_queue

RESETS_PER_ACCOUNT_HOUR = 3
RESETS_PER_CLIENT_HOUR = 10


def password_reset_request(*, email: str, address: str | None) -> None:
    """Mail a link to set a new password to `email` when it is a password account here.

    Says nothing either way (the caller answers the same), and within limits per address and
    per client (3 and 10 an hour), past which nothing is written or sent. Managers and members
    get no link when the team signs in through the identity provider only."""
    email = email.strip().lower()[:254]
    since = clock.now() - dt.timedelta(hours=1)
    with transaction.atomic():
        recent = AuditEntry.objects.filter(kind="password_reset_requested", at__gte=since)
        if (
            recent.filter(data__email=email).count() >= RESETS_PER_ACCOUNT_HOUR
            or recent.filter(data__address=address).count() >= RESETS_PER_CLIENT_HOUR
        ):
            return
        user = User.objects.filter(email=email, is_active=True).first()
        allowed = (
            user is not None
            and user.has_usable_password()
            and (settings.TEAM_PASSWORD_LOGIN or user.role not in (Role.MANAGER, Role.MEMBER))
        )
        audit_record(
            by=None,
            kind="password_reset_requested",
            data={"email": email, "address": address, "sent": allowed},
        )
        if user is None or not allowed:
            return
        token = default_token_generator.make_token(user)
        uid = urlsafe_base64_encode(str(user.pk).encode())
        link = f"{settings.BASE_URL}/password/reset/{uid}/{token}"
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        message_queue(
            channel=ChannelKind.EMAIL,
            recipient=user.email,
            subject="Set a new IncidentDesk password",
            body_markdown=(
                f"Someone (we hope you) asked to set a new password for {user.email}.\n\n"
                f"[Set a new password]({link})\n\n"
                f"The link works once, for {minutes} minutes. If you did not ask, ignore this"
                " message: your password stays as it is."
            ),
            key=f"password-reset:{user.pk}:{secrets.token_hex(8)}",
        )


def password_reset_user(uidb64: str, token: str) -> User | None:
    """The account a reset link is for, while the link is valid (once: a new password, or a
    sign-in, ends it)."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user
