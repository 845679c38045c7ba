"""Large previews, imports and undos, run by the task worker with their progress.

The preview of an upload of more than IMPORT_PREVIEW_BACKGROUND_ROWS rows,
a confirmed import of more than IMPORT_BACKGROUND_ROWS rows (or the undo of
one) becomes an ImportJob and a task (run_import_job, below); the page
the user is sent to reads its progress (crm.import_progress) every two seconds.
A finished preview is shown by the import page, with its confirmation
(crm.import_preview).

A job speaks the language of the user who started it: its messages are
written by the worker, for that user's page.

The work stays one transaction: all or nothing; its progress is written
outside it (crm.import_progress).
"""

import logging

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tasks import task
from import_export.tmp_storages import CacheStorage

from crm.import_preview import summarize
from crm.import_progress import ProgressWriter
from crm.imports import revert_import
from crm.models import ImportJob
from crm.spreadsheets.refusals import SpreadsheetRefused
from crm.spreadsheets.uploads import SharedUploadStorage

logger = logging.getLogger("crm.import_jobs")


# --- Deciding --------------------------------------------------------------------


def remember_rows(upload_name, rows):
    """Keep the row count the preview read, if the file is large enough to
    be imported in the background: the confirmation decides by it (reading
    the file again in its request would take as long as the import)."""
    if runs_in_background(rows):
        caches["import_uploads"].set(_rows_key(upload_name), rows)


def remembered_rows(upload_name):
    """The row count of a large upload; None for a small one."""
    return caches["import_uploads"].get(_rows_key(upload_name))


def forget_upload(upload_name):
    """Delete a stored upload, and its row count."""
    SharedUploadStorage(name=upload_name).remove()
    caches["import_uploads"].delete(_rows_key(upload_name))


def _rows_key(upload_name):
    return f"{CacheStorage.CACHE_PREFIX}{upload_name}:rows"


def runs_in_background(rows):
    return rows is not None and rows > settings.IMPORT_BACKGROUND_ROWS


def previews_in_background(estimated_rows):
    """Whether an upload of about ``estimated_rows`` rows is previewed by the
    worker. One plainly past IMPORT_MAX_ROWS is not: the request's reader
    stops at the limit and refuses it at once, on the form."""
    return (settings.IMPORT_PREVIEW_BACKGROUND_ROWS < estimated_rows
            <= settings.IMPORT_MAX_ROWS * 1.1)


# --- Starting ----------------------------------------------------------------------


def start_preview(*, model, user, upload_name, file_name, rows, resource_class, format_class,
                  encoding, skip_invalid_rows, confirm):
    """Queue the preview of a stored upload of about ``rows`` rows; returns
    its ImportJob. ``confirm`` is the confirmation form's initial data,
    offered with the preview when it finds nothing wrong."""
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.PREVIEW, model_name=model._meta.label_lower, created_by=user,
        upload_name=upload_name, file_name=file_name or "", rows_total=rows,
        options={
            **_reading(resource_class, format_class, encoding, skip_invalid_rows),
            "confirm": confirm,
        },
    )
    _enqueue(job)
    return job


def start_import(*, model, user, upload_name, file_name, rows, resource_class, format_class,
                 encoding, skip_invalid_rows):
    """Queue the import of a previewed upload; returns its ImportJob."""
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.IMPORT, model_name=model._meta.label_lower, created_by=user,
        upload_name=upload_name, file_name=file_name or "", rows_total=rows,
        options=_reading(resource_class, format_class, encoding, skip_invalid_rows),
    )
    _enqueue(job)
    return job


def import_of_upload(upload_name):
    """The import job already started for a stored upload, if any: its
    confirmation came twice (Back, then Confirm again)."""
    if not upload_name:
        return None
    return ImportJob.objects.filter(kind=ImportJob.Kind.IMPORT, upload_name=upload_name).first()


def _reading(resource_class, format_class, encoding, skip_invalid_rows):
    """How a job reads its upload, and in whose language it speaks."""
    return {
        "resource": _dotted(resource_class), "format": _dotted(format_class),
        "encoding": encoding, "skip_invalid_rows": bool(skip_invalid_rows),
        "language": translation.get_language(),
    }


def start_undo(record, *, user):
    """Queue the undo of ``record``; returns its ImportJob."""
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.UNDO, model_name=record.model_name, created_by=user,
        file_name=record.file_name, rows_total=record.changes.count(), import_record=record,
        options={"language": translation.get_language()},
    )
    _enqueue(job)
    return job


def undo_runs_in_background(record):
    return runs_in_background(record.changes.count())


def _enqueue(job):
    queued = run_import_job.enqueue(job.pk)
    # Kept to notice a worker killed mid-job (see worker_stopped()); run()
    # saves only its own fields, so this cannot overwrite them.
    ImportJob.objects.filter(pk=job.pk).update(options={**job.options, "task_id": str(queued.id)})


def _dotted(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


# --- Running (in the worker) ----------------------------------------------------


def run(job_id):
    """Run a queued job to its end: done, or failed with a reason in plain words."""
    job = ImportJob.objects.select_related("created_by", "import_record").get(pk=job_id)
    if job.status != ImportJob.Status.QUEUED:
        return  # run already (a task retried after its worker died)
    with translation.override(job.options.get("language") or settings.LANGUAGE_CODE):
        _run(job)


def _run(job):
    job.status = ImportJob.Status.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    writer = ProgressWriter(job)
    keep_upload = False
    try:
        if job.kind == ImportJob.Kind.PREVIEW:
            keep_upload = _preview(job, writer)
        elif job.kind == ImportJob.Kind.IMPORT:
            _import(job, writer)
        else:
            revert_import(job.import_record, by=job.created_by, progress=writer)
    except JobFailed as error:
        job.status, job.error = ImportJob.Status.FAILED, str(error)
    except Exception as error:  # noqa: BLE001 - the user gets a sentence, the log the rest
        if isinstance(error, ValidationError):
            job.error = " ".join(error.messages)
        else:
            logger.exception("Import job %s failed", job.pk)
            job.error = _("Nothing was changed: the work stopped because of an error on the "
                          "server. Try again; if it happens again, tell the shop's owner.")
        job.status = ImportJob.Status.FAILED
    else:
        job.status = ImportJob.Status.DONE
        job.rows_done = job.rows_total
    finally:
        writer.close()
        if job.upload_name and not keep_upload:
            # Imported or not (or previewed with errors, so no confirmation
            # follows), the stored copy (up to 13.5 MB) is not read again.
            forget_upload(job.upload_name)
    job.finished_at = timezone.now()
    job.save(update_fields=[
        "status", "error", "rows_done", "rows_total", "finished_at", "import_record", "preview",
    ])


@task()
def run_import_job(job_id):
    """The task the worker runs for a queued ImportJob (here, beside what it
    runs, so the two modules do not import each other)."""
    run(job_id)


class JobFailed(Exception):
    """The job failed for a reason the user can act on; the message says it."""


def _preview(job, report_progress):
    """The dry run the import page shows; True if it may be confirmed."""
    dataset = _read_upload(job, refused=_("The file could not be read. Check that it is the "
                                          "file you meant, saved by a spreadsheet program, "
                                          "and upload it again."))
    if not dataset:
        raise JobFailed(_("The file has no rows to import. Check that it has a header row "
                          "and data under it, and upload it again."))
    job.rows_total = len(dataset)
    ImportJob.objects.filter(pk=job.pk).update(rows_total=job.rows_total)
    result = _resource(job, report_progress).import_data(
        dataset, dry_run=True, raise_errors=False, file_name=job.file_name,
        user=job.created_by, rollback_on_validation_errors=True,
    )
    job.preview = summarize(result)
    confirmable = not result.has_errors() and not result.has_validation_errors()
    if confirmable:
        remember_rows(job.upload_name, result.total_rows)
    return confirmable


def _read_upload(job, refused):
    """The job's stored upload as a dataset, read as its preview chose."""
    options = job.options
    format_class = import_string(options["format"])
    input_format = format_class(encoding=options.get("encoding"))
    storage = SharedUploadStorage(
        name=job.upload_name, read_mode=input_format.get_read_mode(),
        encoding=None if input_format.is_binary() else options.get("encoding"),
    )
    try:
        data = storage.read()
    except FileNotFoundError:
        raise JobFailed(_("Nothing was imported: the uploaded file is no longer available "
                          "(it expired). Upload the file again.")) from None
    try:
        return input_format.create_dataset(data)
    except SpreadsheetRefused as error:
        raise JobFailed(str(error)) from None
    except Exception:  # noqa: BLE001 - a broken file: the user gets a sentence
        logger.info("Import job %s: the upload could not be read", job.pk, exc_info=True)
        raise JobFailed(refused) from None


def _resource(job, report_progress):
    resource = _reporting(import_string(job.options["resource"]))(
        skip_invalid_rows=job.options.get("skip_invalid_rows", False)
    )
    resource.report_progress = report_progress
    return resource


def _import(job, report_progress):
    dataset = _read_upload(job, refused=_(
        "Nothing was imported: the file could not be read. Upload it again."
    ))
    resource = _resource(job, report_progress)
    result = resource.import_data(
        dataset, dry_run=False, file_name=job.file_name, user=job.created_by,
        rollback_on_validation_errors=True,
    )
    if result.has_errors() or result.has_validation_errors():
        # import_data rolled the transaction back: nothing was written.
        raise JobFailed(_failure_sentence(result))
    job.import_record = getattr(result, "import_record", None)


def _failure_sentence(result):
    invalid = result.invalid_rows[:3]
    if invalid:
        rows = ", ".join(str(row.number + 1) for row in invalid)  # the header is row 1
        return _("Nothing was imported: some rows are not valid (sheet rows %(rows)s). "
                 "Upload the file again to see what is wrong, or choose to import only "
                 "the valid rows.") % {"rows": rows}
    return _("Nothing was imported: the file could not be imported completely. "
             "Upload it again to see what is wrong.")


def _reporting(resource_class):
    """``resource_class``, telling its progress after every row."""
    return type(resource_class.__name__, (ReportsProgress, resource_class), {
        "__module__": resource_class.__module__,
    })


class ReportsProgress:
    report_progress = None

    def import_row(self, row, instance_loader, **kwargs):
        row_result = super().import_row(row, instance_loader, **kwargs)
        if self.report_progress is not None:
            self.report_progress(kwargs["row_number"])
        return row_result
