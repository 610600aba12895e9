"""Passkeys (WebAuthn, with py_webauthn): the options a browser needs, and checking its answers.

The relying party is the host of INCIDENTDESK_BASE_URL and the expected origin is that URL, so
a passkey works only on the address people use. Passkeys are discoverable (the browser offers
the person's passkeys without an e-mail address) and require user verification (a PIN, a
fingerprint): a passkey alone is two factors. Changes are services in services.py."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .models import Passkey, User

# what a refused or malformed answer from the browser raises
FAILURES: tuple[type[Exception], ...] = (
    WebAuthnException,
    ObjectDoesNotExist,
    ValueError,
    KeyError,
    TypeError,
)


def rp_id() -> str:
    return urllib.parse.urlsplit(settings.BASE_URL).hostname or "localhost"


def origin() -> str:
    parts = urllib.parse.urlsplit(settings.BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def user_handle(user: User) -> bytes:
    return f"incidentdesk-user-{user.pk}".encode()


def user_for_handle(handle: bytes) -> User | None:
    prefix = b"incidentdesk-user-"
    if not handle.startswith(prefix) or not handle[len(prefix) :].isdigit():
        return None
    return User.objects.filter(pk=int(handle[len(prefix) :]), is_active=True).first()


def registration_options(user: User) -> tuple[str, bytes]:
    """The options JSON for navigator.credentials.create, and its challenge to keep."""
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name="IncidentDesk",
        user_name=user.email,
        user_id=user_handle(user),
        user_display_name=user.display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=_id_bytes(p.credential_id))
            for p in Passkey.objects.filter(user=user)
        ],
    )
    return options_to_json(options), options.challenge


def verify_registration(credential: dict[str, Any], challenge: bytes) -> tuple[str, bytes, int]:
    """The new credential's id, public key and counter; raises one of FAILURES."""
    verified = verify_registration_response(
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=rp_id(),
        expected_origin=origin(),
        require_user_verification=True,
    )
    return (
        bytes_to_base64url(verified.credential_id),
        verified.credential_public_key,
        verified.sign_count,
    )


def authentication_options() -> tuple[str, bytes]:
    options = generate_authentication_options(
        rp_id=rp_id(), user_verification=UserVerificationRequirement.REQUIRED
    )
    return options_to_json(options), options.challenge


def verify_authentication(credential: dict[str, Any], challenge: bytes) -> tuple[Passkey, int]:
    """The passkey that signed, and its new counter; raises one of FAILURES."""
    passkey = Passkey.objects.select_related("user").get(credential_id=str(credential["id"]))
    verified = verify_authentication_response(
        credential=credential,
        expected_challenge=challenge,
        expected_rp_id=rp_id(),
        expected_origin=origin(),
        credential_public_key=bytes(passkey.public_key),
        credential_current_sign_count=passkey.sign_count,
        require_user_verification=True,
    )
    return passkey, verified.new_sign_count


def parse(body: bytes) -> dict[str, Any]:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("a credential is a JSON object")
    return data


def _id_bytes(credential_id: str) -> bytes:
    return base64url_to_bytes(credential_id)
