"""Reads of accounts and tokens that pages, the API and the CLI share."""

from __future__ import annotations

from django.db.models import QuerySet

from incidentdesk.core.errors import NotFound

from .models import ApiToken, User
from .permissions import can, require


def tokens_of(*, by: User | None, user: User) -> QuerySet[ApiToken]:
    """The tokens of `user`, newest first: a person sees their own, an admin anyone's."""
    if by is not None and by.pk != user.pk:
        require(by, "user.manage")
    return ApiToken.objects.filter(user=user).select_related("user")


def token_get_for(*, by: User | None, token_id: int) -> ApiToken:
    """One token its owner or an admin may see; any other is NotFound, so ids do not leak."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if by is not None and by.pk != token.user_id and not can(by, "user.manage"):
        raise NotFound(f"No token {token_id}.")
    return token


def token_find(*, ident: str) -> ApiToken:
    """A token by its id or its prefix (as the CLI lists them), for the operator."""
    query = ApiToken.objects.select_related("user")
    token = query.filter(pk=int(ident)).first() if ident.isdigit() else None
    if token is None:
        prefix = ident.rstrip("…").strip()
        matches = list(query.filter(prefix=prefix)[:2]) if prefix else []
        if len(matches) > 1:
            raise NotFound(f"Several tokens start with {prefix}: give the token's id.")
        token = matches[0] if matches else None
    if token is None:
        raise NotFound(f"No token {ident}.")
    return token
