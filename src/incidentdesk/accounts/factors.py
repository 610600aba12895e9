"""Second factors: an authenticator app (TOTP) with recovery codes.

The person's secret is encrypted at rest (core/crypto.py) and travels with backups like every
other secret; recovery codes are kept as SHA-256 digests only and shown once. Reads live here;
every change is a service in services.py that writes the audit log."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
from collections.abc import Callable, Collection

import pyotp
from django.conf import settings

from incidentdesk.core import clock, crypto

from .models import AuthenticatorApp, Passkey, User

ISSUER = "IncidentDesk"
STEP_SECONDS = 30
# a code from the step before or after still works: phones' clocks drift
DRIFT_STEPS = 1
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code, to be scanned by the app (no script, no outside request)."""
    import segno  # lazy: only the page that sets up an app draws a QR code

    return str(
        segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff", omitsize=False)
    )


def matching_step(secret: str, code: str) -> int | None:
    """The 30-second step whose code `code` is, within the allowed drift; None otherwise."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now().timestamp()
    current = int(now // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def app_secret(app: AuthenticatorApp) -> str:
    return crypto.decrypt(app.secret_encrypted)


def has_second_factor(user: User) -> bool:
    """An authenticator app or a passkey."""
    return (
        AuthenticatorApp.objects.filter(user=user).exists()
        or Passkey.objects.filter(user=user).exists()
    )


# Where else a second factor may be required: functions naming roles, registered by the apps
# above this one in their AppConfig.ready() (the policy's `[identity] require_second_factor`).
REQUIREMENTS: list[Callable[[], Collection[str]]] = []


def require_second_factor_from(source: Callable[[], Collection[str]]) -> None:
    if source not in REQUIREMENTS:
        REQUIREMENTS.append(source)


def second_factor_required(user: User) -> bool:
    """Whether `user` needs a second factor: a team member, when INCIDENTDESK_REQUIRE_SECOND_FACTOR
    is on or a registered requirement (the policy) names their role. Either requires it."""
    if not user.is_team:
        return False
    if settings.REQUIRE_SECOND_FACTOR:
        return True
    return any(user.role in source() for source in REQUIREMENTS)


def has_authenticator_app(user: User) -> bool:
    return AuthenticatorApp.objects.filter(user=user).exists()


def new_recovery_codes() -> list[str]:
    """Ten codes of the form `abcde-fghij` (50 random bits each)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(7)).decode().lower()[:10]
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_digest(code: str) -> str:
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"incidentdesk.recovery:{normal}".encode()).hexdigest()


def otpauth_secret(uri: str) -> str:
    """The secret inside an otpauth:// URI (what a person types when they cannot scan)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)["secret"][0]
