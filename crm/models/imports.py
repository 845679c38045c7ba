"""Spreadsheet imports: each import's record, its row changes (for undo),
and the background jobs that preview, import and undo."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportRecord(models.Model):
    """One confirmed spreadsheet import: who, when, which file, what it did."""

    model_name = models.CharField(_("imported into"), max_length=50)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now, db_index=True)
    created_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    reverted_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-imported_at"]

    def __str__(self):
        # In the project's time zone (Asia/Jakarta), as every time shown.
        return f"{self.file_name} ({timezone.localtime(self.imported_at):%Y-%m-%d %H:%M})"


class ImportChange(models.Model):
    """A row an import created or updated, with the values it replaced."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")

    record = models.ForeignKey(ImportRecord, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)
    # Blank: a row of the imported model; else the model of a record created
    # on the way (a customer created by an opportunities import).
    model_name = models.CharField(max_length=50, blank=True)
    object_id = models.BigIntegerField()
    # For an update: the imported fields' values before the import.
    previous = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("imported row")
        verbose_name_plural = _("imported rows")

    def __str__(self):
        return f"{self.get_action_display()} #{self.object_id}"



class ImportJob(models.Model):
    """A large import or undo run by the task worker, with its progress.

    ``rows_done`` is written while the work's own transaction is still open,
    by crm.import_progress (on another connection, or beside an SQLite database).
    """

    class Kind(models.TextChoices):
        # A large file's preview (a dry run): read and checked, nothing written.
        PREVIEW = "preview", _("preview")
        IMPORT = "import", _("import")
        UNDO = "undo", _("undo")

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    model_name = models.CharField(_("imported into"), max_length=50)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    # The stored upload (crm.spreadsheets.SharedUploadStorage) and how to read it.
    upload_name = models.CharField(max_length=100, blank=True)
    options = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.SET_NULL,
        null=True, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # In plain words, for the user: never an exception's name or a path.
    error = models.TextField(_("error"), blank=True)
    import_record = models.ForeignKey(
        ImportRecord, verbose_name=_("import"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="jobs",
    )
    # What a preview job found, kept as crm.import_preview stores it, for the
    # import page to show with its confirmation.
    preview = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("background import")
        verbose_name_plural = _("background imports")

    def __str__(self):
        return f"{self.get_kind_display()} {self.file_name or self.model_name} ({self.pk})"
