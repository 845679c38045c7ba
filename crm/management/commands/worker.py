"""The task worker: django-tasks-db's ``db_worker``, plus a heartbeat.

Every HEARTBEAT_SECONDS a thread (with its own database connection) records
that this worker is alive, which /healthz reports, restarts WhatsApp sending
if a killed worker left due messages behind, runs the day's periodic jobs
(payment reminders) once per day across all workers, and marks failed the
tasks a killed worker was running (django-tasks-db would show them running
forever).
"""

import datetime
import logging
import os
import socket
import threading

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.models import DBTaskResult

from crm.models import WorkerHeartbeat
from crm.whatsapp import notifications, sender

HEARTBEAT_SECONDS = 15
# A worker silent this long was killed (or its machine died): six beats missed.
DEAD_AFTER = datetime.timedelta(seconds=90)
FORGET_DEAD_AFTER = datetime.timedelta(days=1)
logger = logging.getLogger("crm.worker")


def beat(worker_id, started_at):
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": socket.gethostname()[:255], "pid": os.getpid(),
                  "started_at": started_at, "beat_at": timezone.now()},
    )
    sender.restart_if_stalled()
    notifications.run_daily_jobs()
    fail_tasks_of_dead_workers()


class WorkerDied(Exception):
    """The worker running a task stopped beating before the task finished."""


def fail_tasks_of_dead_workers(now=None):
    """Mark failed the running tasks whose worker's heartbeat stopped.

    Only workers that beat (``manage.py worker``) are judged: a task run by a
    plain ``db_worker`` has no heartbeat to go by and is left alone. A worker
    that stops cleanly finishes its task and removes its heartbeat first.
    Returns how many tasks were marked.
    """
    now = now or timezone.now()
    dead = set(
        WorkerHeartbeat.objects.filter(beat_at__lt=now - DEAD_AFTER)
        .values_list("worker_id", flat=True)
    )
    if not dead:
        return 0
    marked = 0
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    for task in running.only("id", "worker_ids", "task_path"):
        worker_id = task.worker_ids[-1] if task.worker_ids else None
        if worker_id not in dead:
            continue
        error = WorkerDied(
            f"Worker {worker_id} stopped sending its heartbeat while running this task."
        )
        # Conditional: another worker's heartbeat may mark it at the same time.
        marked += DBTaskResult.objects.filter(
            pk=task.pk, status=TaskResultStatus.RUNNING
        ).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=f"{__name__}.{WorkerDied.__qualname__}",
            traceback=str(error),
            return_value=None,
        )
        logger.warning("Task %s (%s) failed: %s", task.pk, task.task_path, error)
    # Their tasks are settled: forget workers dead for a day.
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_DEAD_AFTER).delete()
    return marked


class Command(DbWorkerCommand):
    help = "Run a background task worker (db_worker) that reports a heartbeat."

    def handle(self, *args, worker_id=None, **options):
        worker_id = worker_id or f"{socket.gethostname()}-{get_random_string(8)}"
        stop = threading.Event()
        started_at = timezone.now()

        def heartbeat():
            while not stop.is_set():
                try:
                    beat(worker_id, started_at)
                except Exception:  # the next beat tries again; the worker goes on
                    logger.exception("Heartbeat failed")
                finally:
                    close_old_connections()
                stop.wait(HEARTBEAT_SECONDS)
            connection.close()

        thread = threading.Thread(target=heartbeat, name="heartbeat", daemon=True)
        thread.start()
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            stop.set()
            WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()
