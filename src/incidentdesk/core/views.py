from __future__ import annotations

from django.db import DatabaseError, connection
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.csrf import csrf_failure as page
from django.views.decorators.cache import never_cache
from django_tasks_db.models import DBTaskResult

from .middleware import is_api, json_error
from .models import WorkerHeartbeat

# a task waiting this long with no worker seen as long means deliveries are stuck
STUCK_SECONDS = 60


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


_migrated = False


def _schema_is_current() -> bool:
    """Asked of the migration graph until it says yes once; migrations are not undone under
    a running process, so later calls cost nothing."""
    global _migrated
    if not _migrated:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """The process can serve: the database answers and the schema is migrated. Also says when
    a task worker was last seen and how long the oldest waiting task has waited, so a monitor
    sees deliveries stuck behind a stopped worker ("status": "degraded", still 200: the web
    can serve)."""
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not _schema_is_current():
            return JsonResponse(
                {"status": "unavailable", "detail": "migrations pending"}, status=503
            )
        seen = WorkerHeartbeat.objects.aggregate(latest=Max("seen_at"))["latest"]
        oldest = DBTaskResult.objects.ready().aggregate(oldest=Min("enqueued_at"))["oldest"]
    except DatabaseError as exc:
        return JsonResponse({"status": "unavailable", "detail": str(exc)}, status=503)
    worker_age = (now - seen).total_seconds() if seen else None
    waiting = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    problems = []
    if waiting > STUCK_SECONDS and (worker_age is None or worker_age > STUCK_SECONDS):
        problems.append("tasks are waiting and no task worker has been seen")
    body: dict[str, object] = {
        "status": "degraded" if problems else "ok",
        "worker_seen_seconds_ago": None if worker_age is None else round(worker_age, 1),
        "oldest_queued_task_seconds": round(waiting, 1),
    }
    if problems:
        body["detail"] = "; ".join(problems)
    return JsonResponse(body)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused forgery check: the API's JSON error under /api/, Django's page elsewhere."""
    if is_api(request):
        return json_error(
            403,
            f"CSRF check failed: {reason} Send a bearer token, or the CSRF token of your session.",
        )
    return page(request, reason=reason)
