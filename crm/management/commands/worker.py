"""The task worker: django-tasks-db's ``db_worker``, plus a heartbeat.

Every BEAT_EVERY (crm/models/workers.py) a thread (with its own database connection) records
that this worker is alive, which /healthz reports, restarts WhatsApp sending
if a killed worker left due messages behind, runs the day's periodic jobs
(payment reminders) once per day across all workers, and marks failed the
tasks a killed worker was running (django-tasks-db would show them running
forever).

With the autoreloader (``--reload``, on when DEBUG) the tasks run in a child
process: only that one beats, and it stops when the reloader is gone, so a
killed reloader leaves no worker behind. ``--stop-with-pid`` (``make run``
gives its own pid) stops the worker once that process is gone too.
"""

import atexit
import logging
import os
import signal
import socket
import threading
import time

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django.utils.crypto import get_random_string
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.models import DBTaskResult

from crm.models import WorkerHeartbeat
from crm.models.workers import BEAT_EVERY, dead_worker_ids
from crm.whatsapp import notifications, sender

PARENT_CHECK_SECONDS = 0.5
# Set by the autoreloader's process for its child: a child that reads its
# parent's pid itself may read init's, if the reloader died while it started.
RELOADER_PID_ENV = "CRM_WORKER_RELOADER_PID"
logger = logging.getLogger("crm.worker")


def beat(worker_id, started_at):
    WorkerHeartbeat.objects.beat(worker_id, started_at)
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
    dead = dead_worker_ids(now)
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
    WorkerHeartbeat.objects.forget_dead(now)
    return marked


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def stop_when_gone(reloader_pid=None, stop_with_pid=None, poll=PARENT_CHECK_SECONDS):
    """Stop this worker as a Ctrl+C would (the running task finishes first) once
    its reloader process, or process ``stop_with_pid``, is gone."""
    while True:
        if reloader_pid is not None and os.getppid() != reloader_pid:
            gone = reloader_pid
        elif stop_with_pid is not None and not process_exists(stop_with_pid):
            gone = stop_with_pid
        else:
            time.sleep(poll)
            continue
        logger.warning("Process %s is gone: the worker stops.", gone)
        os.kill(os.getpid(), signal.SIGTERM)
        return


class Command(DbWorkerCommand):
    help = "Run a background task worker (db_worker) that reports a heartbeat."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--stop-with-pid", type=int, default=None,
            help="Stop once the process with this id is gone (make run gives its own).",
        )

    def handle(self, *args, worker_id=None, stop_with_pid=None, **options):
        if options["reload"] and not options["batch"] and (
            os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        ):
            # The autoreloader's own process: it runs no task, so no heartbeat;
            # its child (started with the variable set) does the work.
            os.environ[RELOADER_PID_ENV] = str(os.getpid())
            return super().handle(*args, worker_id=worker_id, **options)
        reloader_pid = None
        if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true" and RELOADER_PID_ENV in os.environ:
            reloader_pid = int(os.environ[RELOADER_PID_ENV])
        if reloader_pid is not None or stop_with_pid is not None:
            threading.Thread(
                target=stop_when_gone, args=(reloader_pid, stop_with_pid),
                name="stop-when-gone", daemon=True,
            ).start()
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
                stop.wait(BEAT_EVERY.total_seconds())
            connection.close()

        def forget():
            stop.set()
            WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()

        thread = threading.Thread(target=heartbeat, name="heartbeat", daemon=True)
        thread.start()
        # Under the autoreloader the tasks run in a thread and a stop ends the
        # process from its main thread, past this method's finally.
        atexit.register(forget)
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            atexit.unregister(forget)
            forget()
