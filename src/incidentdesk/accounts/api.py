"""API tokens over the JSON API: a person lists, creates and revokes their own; an admin
lists and revokes anyone's."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from incidentdesk.core import clock
from incidentdesk.core.errors import NotFound

from .api_auth import actor
from .models import ApiToken, User
from .permissions import require
from .selectors import token_get_for, tokens_of
from .services import TOKEN_MAX_DAYS, token_create, token_revoke

router = Router(tags=["tokens"])


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=100)
    scope: Literal["read", "write"] = "write"
    expires_in_days: int | None = Field(None, ge=1, le=TOKEN_MAX_DAYS)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    state: Literal["active", "expired", "revoked"]
    owner: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The bearer token. It is shown this once and never again.")


class TokenFilter(Schema):
    email: str | None = Field(None, description="Another person's tokens (admins only).")


def _out(token: ApiToken, now: dt.datetime) -> dict[str, object]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "state": token.state_at(now),
        "owner": token.user.email,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/tokens", response=list[TokenOut], summary="API tokens, newest first")
def list_tokens(request: HttpRequest, filters: Query[TokenFilter]) -> list[dict[str, object]]:
    by = actor(request)
    owner = by
    email = (filters.email or "").strip().lower()
    if email and email != by.email:
        require(by, "user.manage")
        found = User.objects.filter(email=email).first()
        if found is None:
            raise NotFound(f"No account {email}.")
        owner = found
    now = clock.now()
    return [_out(t, now) for t in tokens_of(by=by, user=owner)]


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token for yourself")
def create_token(request: HttpRequest, payload: TokenIn) -> Status:
    by = actor(request)
    raw, token = token_create(
        by=by,
        user=by,
        name=payload.name,
        scope=payload.scope,
        expires_in_days=payload.expires_in_days,
    )
    return Status(201, {**_out(token, clock.now()), "token": raw})


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke an API token")
def revoke_token(request: HttpRequest, token_id: int) -> dict[str, object]:
    by = actor(request)
    token = token_revoke(by=by, token=token_get_for(by=by, token_id=token_id))
    return _out(token, clock.now())
