"""Recording confirmed imports, and undoing one.

An import's rows are remembered as they are written: the ids it created and,
for each customer it updated, the values it replaced. Undoing deletes the
former and puts the latter back, in one transaction.
"""

from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import ProtectedError
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export.results import RowResult

from crm.bulk_insert import ImportQuerySet, insert_rows
from crm.models import ImportChange, ImportRecord


def record_import(model, result, *, file_name, user, created, previous, extra_created=()):
    """Write the ImportRecord of a confirmed import.

    ``created`` are the rows the import created; ``previous`` maps the id of
    each row it loaded for an update to that row's values before the import
    (only those the result reports as updated are kept); ``extra_created``
    are other records created on the way (customers created by an
    opportunities import), removed after the imported rows on undo.
    """
    record = ImportRecord.objects.create(
        model_name=model._meta.label_lower,
        file_name=file_name or "",
        imported_by=user if getattr(user, "pk", None) else None,
        created_count=result.totals[RowResult.IMPORT_TYPE_NEW],
        updated_count=result.totals[RowResult.IMPORT_TYPE_UPDATE],
        skipped_count=result.totals[RowResult.IMPORT_TYPE_SKIP],
    )
    updated = {
        row.object_id for row in result.rows
        if row.import_type == RowResult.IMPORT_TYPE_UPDATE and row.object_id in previous
    }
    changes = [
        ImportChange(record=record, action=ImportChange.Action.CREATED, object_id=obj.pk)
        for obj in created
    ]
    changes += [
        ImportChange(record=record, action=ImportChange.Action.UPDATED, object_id=pk,
                     previous=previous[pk])
        for pk in sorted(updated)
    ]
    changes += [
        ImportChange(record=record, action=ImportChange.Action.CREATED, object_id=obj.pk,
                     model_name=obj._meta.label_lower)
        for obj in extra_created
    ]
    insert_rows(ImportChange, changes)
    result.import_record = record  # for the background job (crm.import_jobs)
    return record


def revert_import(record, *, by, progress=None):
    """Undo ``record``: remove the rows it created, restore those it updated.

    Raises ValidationError (and changes nothing) if it was undone already or
    if a created row cannot be removed any more (e.g. a customer who now has
    opportunities). ``progress``, if given, is called with the number of
    rows undone so far.
    """
    if record.reverted_at is not None:
        raise ValidationError(_("This import was undone already."))
    model = apps.get_model(record.model_name)
    done = 0
    with transaction.atomic():
        changes = list(record.changes.all())
        try:
            # The imported model's rows first, then what was created for them.
            created = [c for c in changes if c.action == ImportChange.Action.CREATED]
            for model_name in ["", *sorted({c.model_name for c in created if c.model_name})]:
                ids = [c.object_id for c in created if c.model_name == model_name]
                deleted_model = apps.get_model(model_name) if model_name else model
                for start in range(0, len(ids), UNDO_BATCH):
                    delete_with_history(
                        deleted_model.objects.filter(pk__in=ids[start:start + UNDO_BATCH]), by=by
                    )
                    done += len(ids[start:start + UNDO_BATCH])
                    if progress:
                        progress(done)
        except ProtectedError as error:
            blocking = ", ".join(sorted({str(o) for o in error.protected_objects})[:5])
            raise ValidationError(
                _("Cannot undo: some imported rows are in use now (%(objects)s).")
                % {"objects": blocking}
            ) from error
        updated = {c.object_id: c.previous for c in changes
                   if c.action == ImportChange.Action.UPDATED}
        # Restored with save(): an opportunity's stage rules and history apply.
        for obj in model.objects.filter(pk__in=updated):
            for name, value in updated[obj.pk].items():
                setattr(obj, name, value)
            obj.save(update_fields=list(updated[obj.pk]))
            done += 1
            if progress and done % UNDO_BATCH == 0:
                progress(done)
        record.reverted_at = timezone.now()
        record.reverted_by = by
        record.save(update_fields=["reverted_at", "reverted_by"])
    if progress:
        progress(done)


# Rows deleted (and their history rows written) per statement in an undo.
UNDO_BATCH = 2000


def delete_with_history(queryset, *, by):
    """Delete ``queryset`` with what it cascades to, writing django-simple-history's
    "deleted" rows in bulk: one INSERT per 2,000 rows instead of one per row
    (62 of the 70 s profiled of a 100,000-row undo went to those INSERTs).

    Raises ProtectedError, having deleted nothing, like QuerySet.delete().
    """
    using = router.db_for_write(queryset.model)
    collector = Collector(using=using, origin=queryset)
    collector.collect(queryset)
    history_user = by if getattr(by, "pk", None) else None
    now = timezone.now()
    history = {}  # built before the DELETE, which sets the instances' ids to None
    if getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        for deleted_model, instances in collector.data.items():
            manager_name = getattr(deleted_model._meta, "simple_history_manager_attribute", None)
            if not manager_name:
                continue
            historical = getattr(deleted_model, manager_name).model
            # HistoryManager.bulk_history_create writes only "+" and "~" rows:
            # the same rows, built here with "-".
            history[historical] = [
                historical(
                    history_date=now, history_user=history_user, history_type="-",
                    history_change_reason="",
                    **{f.attname: getattr(obj, f.attname) for f in historical.tracked_fields},
                )
                for obj in instances
            ]
    with transaction.atomic(using=using), _history_per_row_off():
        collector.delete()
        for historical, rows in history.items():
            # Written as the import's own rows are (ImportQuerySet): through
            # Django's compiler this was 25 of 44 s of a 100,000-row undo.
            ImportQuerySet(historical, using=using).bulk_create(rows, batch_size=UNDO_BATCH)


@contextmanager
def _history_per_row_off():
    """django-simple-history's per-row post_delete record, switched off.

    Its only switch is the process-wide SIMPLE_HISTORY_ENABLED: safe because
    our processes delete in one thread (gunicorn's sync workers, the task
    worker running one task at a time, its heartbeat thread saving neither
    customers nor opportunities); the window is one batch's DELETE.
    """
    enabled = getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    settings.SIMPLE_HISTORY_ENABLED = False
    try:
        yield
    finally:
        settings.SIMPLE_HISTORY_ENABLED = enabled
