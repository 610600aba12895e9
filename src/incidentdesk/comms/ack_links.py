"""Acknowledge links in pages: a signed token naming the link's row, so no secret is stored."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from incidentdesk.core.errors import NotFound

ACK_SALT = "incidentdesk.comms.acknowledge"


def ack_token(link_id: int) -> str:
    return signing.dumps({"a": link_id}, salt=ACK_SALT, compress=True)


def ack_url(link_id: int) -> str:
    return f"{settings.BASE_URL}/oncall/ack/{ack_token(link_id)}"


def ack_link_id_of(token: str) -> int:
    """The acknowledge link a signed token names; NotFound when the signature is wrong."""
    try:
        return int(signing.loads(token, salt=ACK_SALT)["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("This acknowledge link is not valid.") from None
