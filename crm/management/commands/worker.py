"""The task worker: django-tasks-db's ``db_worker``, plus a heartbeat.

Every HEARTBEAT_SECONDS a thread (with its own database connection) records
that this worker is alive, which /healthz reports, restarts WhatsApp sending
if a killed worker left due messages behind, and runs the day's periodic
jobs (payment reminders) once per day across all workers.
"""

import logging
import os
import socket
import threading

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from crm.models import WorkerHeartbeat
from crm.whatsapp import notifications, sender

HEARTBEAT_SECONDS = 15
logger = logging.getLogger("crm.worker")


def beat(worker_id, started_at):
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": socket.gethostname()[:255], "pid": os.getpid(),
                  "started_at": started_at, "beat_at": timezone.now()},
    )
    sender.restart_if_stalled()
    notifications.run_daily_jobs()


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
