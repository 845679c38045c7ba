"""/healthz: is this web process able to serve, and are workers alive?

For load balancers and container health checks: unauthenticated, so it says
nothing an outsider could use (no versions, hosts or error texts), only
"ok" or "fail" per check and the age of the newest worker heartbeat.
"""

import time

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from crm.models import WorkerHeartbeat

# A worker beats every 15 s; 90 s of silence (six beats missed) means it is
# gone or stuck. The one threshold: /healthz, the dashboard's alert and the
# message log's all use it.
WORKER_STALE_SECONDS = 90
# Loading the migration graph takes tens of milliseconds: once a minute.
MIGRATIONS_CHECK_SECONDS = 60
_migrations_checked = {"at": 0.0, "applied": False}


def worker_down_since(now=None):
    """(True, the last beat or None if none was ever seen) when no worker has
    beaten for WORKER_STALE_SECONDS; (False, the last beat) otherwise."""
    newest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True)
    return worker_down(newest.first(), now)


def worker_down(newest_beat, now=None):
    """worker_down_since, given the newest heartbeat (None: none seen)."""
    now = now or timezone.now()
    if newest_beat is None:
        return True, None
    return (now - newest_beat).total_seconds() > WORKER_STALE_SECONDS, newest_beat


def _database_ok():
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def _migrations_applied():
    now = time.monotonic()
    if now - _migrations_checked["at"] > MIGRATIONS_CHECK_SECONDS:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        _migrations_checked.update(at=now, applied=not plan)
    return _migrations_checked["applied"]


@never_cache
@require_GET
def healthz(request):
    checks = {"database": "fail", "migrations": "fail", "worker": "fail"}
    worker_age = None
    if _database_ok():
        checks["database"] = "ok"
        if _migrations_applied():
            checks["migrations"] = "ok"
        newest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True)
        newest = newest.first()
        if newest is not None:
            worker_age = round((timezone.now() - newest).total_seconds())
            if worker_age <= WORKER_STALE_SECONDS:
                checks["worker"] = "ok"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks,
         "worker_heartbeat_age_seconds": worker_age},
        status=200 if healthy else 503,
    )
