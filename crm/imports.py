"""Recording confirmed imports, and undoing one.

An import's rows are remembered as they are written: the ids it created and,
for each customer it updated, the values it replaced. Undoing deletes the
former and puts the latter back, in one transaction.
"""

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export.results import RowResult

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
    ImportChange.objects.bulk_create(changes, batch_size=1000)
    return record


def revert_import(record, *, by):
    """Undo ``record``: remove the rows it created, restore those it updated.

    Raises ValidationError (and changes nothing) if it was undone already or
    if a created row cannot be removed any more (e.g. a customer who now has
    opportunities).
    """
    if record.reverted_at is not None:
        raise ValidationError(_("This import was undone already."))
    model = apps.get_model(record.model_name)
    with transaction.atomic():
        changes = list(record.changes.all())
        try:
            # The imported model's rows first, then what was created for them.
            created = [c for c in changes if c.action == ImportChange.Action.CREATED]
            model.objects.filter(
                pk__in=[c.object_id for c in created if not c.model_name]
            ).delete()
            for other in {c.model_name for c in created if c.model_name}:
                apps.get_model(other).objects.filter(
                    pk__in=[c.object_id for c in created if c.model_name == other]
                ).delete()
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
        record.reverted_at = timezone.now()
        record.reverted_by = by
        record.save(update_fields=["reverted_at", "reverted_by"])
