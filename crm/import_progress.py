"""An import job's progress: written by the worker where the web process sees
it at once, and read for the progress page.

The work stays one transaction: all or nothing. Its progress has to be seen
by the web process while that transaction is open, so it is not written
inside it: on MariaDB (READ COMMITTED) and PostgreSQL through a second
connection of its own; on SQLite, which has one writer at a time and whose
second connection would wait for the import's, into a small file beside
the database (web and worker share that file system, or SQLite would not
work at all).
"""

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm.models import ImportJob

# The jobs' one log, for their running (crm.import_jobs) and their progress.
logger = logging.getLogger("crm.import_jobs")

# Progress is written at most this often (a write costs a round trip).
PROGRESS_SECONDS = 1.0


class ProgressWriter:
    """Writes a job's rows_done where the web process sees it at once."""

    def __init__(self, job):
        self.job = job
        self.last = 0.0
        self.connection = None
        self.sqlite = connections[router.db_for_write(ImportJob)].vendor == "sqlite"

    def __call__(self, rows_done, force=False):
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        if self.sqlite is None:
            return  # writing failed once
        if self.sqlite:
            path = progress_file(self.job.pk)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"rows_done": rows_done}))
            os.replace(temporary, path)
            return
        try:
            self._update(rows_done)
        except DatabaseError:
            # Progress is for the eye: the import goes on without it.
            logger.warning("Progress of import job %s not written", self.job.pk, exc_info=True)
            self.sqlite = None

    def _update(self, rows_done):
        if self.connection is None:
            # Not the default connection: its writes would be seen only at
            # the import's COMMIT.
            self.connection = connections.create_connection(router.db_for_write(ImportJob))
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(ImportJob._meta.db_table)} SET {quote('rows_done')} = %s "
                f"WHERE {quote('id')} = %s",
                [rows_done, self.job.pk],
            )

    def close(self):
        if self.connection is not None:
            self.connection.close()
        progress_file(self.job.pk).unlink(missing_ok=True)


def progress_file(job_id):
    name = str(connections[DEFAULT_DB_ALIAS].settings_dict.get("NAME") or "")
    directory = Path(name).parent if name and os.path.isabs(name) else Path(tempfile.gettempdir())
    return directory / f"crm-import-job-{job_id}.progress"


def progress(job):
    """What the progress page shows: a dict ready for JSON."""
    if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING) and worker_stopped(job):
        # Its transaction died with it: nothing was written.
        job.status, job.finished_at = ImportJob.Status.FAILED, timezone.now()
        job.error = _("Nothing was changed: the worker doing this stopped before the end "
                      "(it was restarted, or its server stopped). Start again.")
        ImportJob.objects.filter(pk=job.pk, status__in=[
            ImportJob.Status.QUEUED, ImportJob.Status.RUNNING,
        ]).update(status=job.status, finished_at=job.finished_at, error=job.error)
    rows_done = job.rows_done
    if job.status == ImportJob.Status.RUNNING:
        try:
            rows_done = max(rows_done, json.loads(progress_file(job.pk).read_text())["rows_done"])
        except (OSError, ValueError, KeyError):
            pass
    rows_done = min(rows_done, job.rows_total)
    seconds_left = None
    if job.status == ImportJob.Status.RUNNING and job.started_at and rows_done:
        elapsed = (timezone.now() - job.started_at).total_seconds()
        seconds_left = round(elapsed / rows_done * (job.rows_total - rows_done))
    return {
        "status": job.status,
        "status_text": capfirst(job.get_status_display()),
        "rows_done": rows_done,
        "rows_total": job.rows_total,
        "percent": int(100 * rows_done / job.rows_total) if job.rows_total else 0,
        "rows_text": _("%(done)s of %(total)s rows (%(percent)s%%)") % {
            "done": number_format(rows_done, force_grouping=True),
            "total": number_format(job.rows_total, force_grouping=True),
            "percent": int(100 * rows_done / job.rows_total) if job.rows_total else 0,
        },
        "seconds_left": seconds_left,
        "time_left": _time_left(seconds_left),
        "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
        "error": job.error,
        "summary": _summary(job),
    }


def worker_stopped(job):
    """Whether the job's task failed outside run() (its worker was killed:
    ``manage.py worker`` marks such tasks failed)."""
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    task_id = job.options.get("task_id")
    if not task_id:
        return False
    try:
        return DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.FAILED).exists()
    except ValidationError:
        return False  # not a database task's id (the immediate backend's, in tests)


def _time_left(seconds):
    if seconds is None:
        return ""
    if seconds < 60:
        return _("less than a minute left")
    return _("about %(minutes)d min left") % {"minutes": (seconds + 59) // 60}


def _summary(job):
    if job.status != ImportJob.Status.DONE:
        return ""
    if job.kind == ImportJob.Kind.PREVIEW:
        return _("Checked: %(rows)s rows.") % {
            "rows": number_format(job.rows_total, force_grouping=True)
        }
    if job.kind == ImportJob.Kind.UNDO:
        return _("Undone: %(rows)s rows.") % {"rows": job.rows_total}
    record = job.import_record
    if record is None:
        return ""
    return _("Import finished: %(new)s new, %(updated)s updated, %(skipped)s skipped.") % {
        "new": record.created_count, "updated": record.updated_count,
        "skipped": record.skipped_count,
    }
