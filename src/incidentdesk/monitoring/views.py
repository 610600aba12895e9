"""`/metrics`: for Prometheus, not for people. Answered to a client address on the allow-list
(`INCIDENTDESK_METRICS_ALLOW`) or to a bearer token with the `metrics` scope; a caller with a
token that is not one gets 401, anyone else the same 404 as an address that does not exist."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from incidentdesk.accounts.models import TokenScope
from incidentdesk.accounts.services import token_lookup

from . import metrics

# headers a reverse proxy adds: a request carrying one came through a proxy, so its peer
# address is the proxy's, not the client's, and the allow-list does not apply
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _allowed_address(request: HttpRequest) -> bool:
    if not settings.METRICS_ALLOW or any(h in request.META for h in FORWARDED):
        return False
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.METRICS_ALLOW)


def _bearer(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = _bearer(request)
    if token is not None:
        found = token_lookup(token)
        if found is None or found.scope != TokenScope.METRICS:
            response = HttpResponse(
                "This token may not read metrics: use a token with the metrics scope.\n",
                status=401,
                content_type="text/plain; charset=utf-8",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _allowed_address(request):
        raise Http404
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
