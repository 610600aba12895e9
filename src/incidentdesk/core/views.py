from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """The process can serve: the database answers and the schema is migrated."""
    from django.db.migrations.executor import MigrationExecutor

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "detail": str(exc)}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "detail": "migrations pending"}, status=503)
    return JsonResponse({"status": "ok"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused forgery check: the API's JSON error under /api/, Django's page elsewhere."""
    from django.views.csrf import csrf_failure as page

    from .middleware import is_api, json_error

    if is_api(request):
        return json_error(
            403,
            f"CSRF check failed: {reason} Send a bearer token, or the CSRF token of your session.",
        )
    return page(request, reason=reason)
