from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from incidentdesk.accounts.api_auth import actor
from incidentdesk.accounts.permissions import require

from .selectors import active_policy

router = Router(tags=["policy"])


@router.get("/policy", summary="The active policy")
def get_policy(request: HttpRequest) -> dict[str, Any]:
    require(actor(request), "policy.view")
    version, policy = active_policy()
    return {
        "version": version.pk,
        "content_hash": version.content_hash,
        "policy": policy.model_dump(mode="json"),
    }
