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

# The one dead-worker rule (DEAD_AFTER of silence): /healthz, the dashboard's
# alert and the message log's all judge by it.
from crm.models.workers import worker_down_since

# Loading the migration graph takes tens of milliseconds: once a minute.
MIGRATIONS_CHECK_SECONDS = 60
_migrations_checked = {"at": 0.0, "applied": False}


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
        now = timezone.now()
        down, newest = worker_down_since(now)
        if newest is not None:
            worker_age = round((now - newest).total_seconds())
        if not down:
            checks["worker"] = "ok"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks,
         "worker_heartbeat_age_seconds": worker_age},
        status=200 if healthy else 503,
    )
