import dataclasses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.db.models import OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.phones import InvalidPhoneNumber, normalize_phone
from crm.search import ScannableQuerySet


class WhatsAppNumberField(models.CharField):
    """A phone number stored normalised (``6281234567890``); blank is NULL.

    Normalising in to_python makes model validation (and so the admin's
    uniqueness check) compare numbers, not spellings; normalising again in
    pre_save keeps code paths that skip validation (bulk_create, scripts)
    from storing a second spelling of an existing number.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or not value.strip():
            return None
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as error:
            raise ValidationError(str(error), code="invalid_phone") from error

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class Customer(models.Model):
    class Source(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        INSTAGRAM = "instagram", "Instagram"
        FACEBOOK = "facebook", "Facebook"
        MARKETPLACE = "marketplace", _("Marketplace")
        REFERRAL = "referral", _("Referral")
        WALK_IN = "walk_in", _("Walk-in")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    phone = WhatsAppNumberField(
        _("WhatsApp number"),
        unique=True,
        help_text=_("Any format: 0812-3456-7890, +62 812 3456 7890, 62812 3456 7890."),
        error_messages={"unique": _("A customer with this WhatsApp number already exists.")},
    )
    email = models.EmailField(_("email"), blank=True, db_index=True)
    business_name = models.CharField(_("business name"), max_length=200, blank=True)
    address = models.TextField(_("address"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.WHATSAPP
    )
    notes = models.TextField(_("notes"), blank=True)
    whatsapp_opt_out = models.BooleanField(
        _("opted out of WhatsApp"),
        default=False,
        help_text=_("The customer asked not to receive WhatsApp messages."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        db_index=False,  # indexed by customer_owner_created

    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Who changed what and when, with every previous version.
    history = HistoricalRecords()

    objects = ScannableQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]
        permissions = [
            ("import_customer", _("Can import customers from a spreadsheet")),
            ("export_customer", _("Can export customers to a spreadsheet")),
        ]
        # Each list filter is paired with the list's sort order (ascending, so a
        # backward scan yields "newest first, then highest id"), so a filtered
        # first page reads 100 index entries instead of sorting the table.
        indexes = [
            models.Index(fields=["source", "created_at"], name="customer_source_created"),
            models.Index(fields=["city", "created_at"], name="customer_city_created"),
            models.Index(fields=["owner", "created_at"], name="customer_owner_created"),
            models.Index(fields=["name"], name="customer_name"),
        ]

    def __str__(self):
        return self.name

    # The names as last loaded or saved: the opportunities' search text
    # needs refreshing only when they change.
    _saved_names = None

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        names = (self.name, self.business_name, self.phone)
        if not adding and names != self._saved_names:
            # The customer's names and number are part of each opportunity's
            # search text.
            refresh_search_text(Opportunity.objects.filter(customer_id=self.pk))
        self._saved_names = names

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_names = tuple(
            instance.__dict__.get(name) for name in ("name", "business_name", "phone")
        )
        return instance


class DeletedCustomer(Customer.history.model):
    """Deleted customers as their history last saw them (a proxy: no table);
    the admin lists them for the owner to restore (crm/history.py)."""

    class Meta:
        proxy = True
        verbose_name = _("deleted customer")
        verbose_name_plural = _("deleted customers")


class Stage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CONTACTED = "contacted", _("Contacted")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


CLOSED_STAGES = {Stage.WON: Status.WON, Stage.LOST: Status.LOST}


class Fulfilment(models.TextChoices):
    """Where a won opportunity, now an order, is in the making."""

    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    DELIVERED = "delivered", _("Delivered")


class PaymentStatus(models.TextChoices):
    """Derived from the payments recorded: never typed."""

    UNPAID = "unpaid", _("Unpaid")
    DOWN_PAYMENT = "down_payment", _("Down payment (DP)")
    PAID = "paid", _("Paid")


_NOT_LOADED = object()


def search_text_of(title, customer):
    """What an opportunity is found by: its title, its customer's names and
    WhatsApp number (so a number prefix finds it through the same index)."""
    parts = [title, customer.name, customer.business_name, customer.phone]
    return " ".join(part for part in parts if part)


def refresh_search_text(opportunities):
    """Recompute the search text of ``opportunities`` in the database, in one UPDATE."""
    customer = Customer.objects.filter(pk=OuterRef("customer_id"))
    opportunities.update(
        search_text=Concat(
            "title",
            Value(" "),
            Subquery(customer.values("name")[:1]),
            Value(" "),
            Subquery(customer.values("business_name")[:1]),
            Value(" "),
            Subquery(customer.values("phone")[:1]),
            output_field=models.TextField(),
        )
    )


def status_for_stage(stage):
    """The pipeline status a stage belongs to: won, lost, or open for the rest."""
    return CLOSED_STAGES.get(stage, Status.OPEN)


class Opportunity(models.Model):
    """A sale being chased through the pipeline.

    ``status`` and ``closed_at`` are derived from ``stage`` in save(); every
    stage change is written to StageChange.
    """

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        # A customer's deals are the business's sales record: never cascade.
        on_delete=models.PROTECT,
        related_name="opportunities",
        # Indexed by opp_customer_created below, which also serves the FK.
        db_index=False,
    )
    title = models.CharField(_("title"), max_length=200, help_text=_("What is being sold."))
    amount = models.BigIntegerField(
        _("amount (Rp)"),
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(999_999_999_999_999)],
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.PROSPECT
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN, editable=False
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    stage_changed_at = models.DateTimeField(
        _("in this stage since"), default=timezone.now, editable=False
    )
    # Title and customer name and business, for one FULLTEXT index: searching
    # "customer matches OR title matches" across two tables uses no index
    # on MySQL (seconds at 3,000,000 rows). Kept in step by save() here and
    # by Customer.save() / refresh_search_text().
    search_text = models.TextField(blank=True, default="", editable=False)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    # Follow-up: what was promised next, and when.
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    # The order, once won (crm/orders.py).
    fulfilment_status = models.CharField(
        _("order status"), max_length=12, choices=Fulfilment.choices,
        default=Fulfilment.IN_PROGRESS,
    )
    payment_due_date = models.DateField(_("payment due"), null=True, blank=True)
    # Sum of the payments and what it makes the order: kept by crm/orders.py.
    amount_paid = models.BigIntegerField(_("paid (Rp)"), default=0, editable=False)
    payment_status = models.CharField(
        _("payment"), max_length=12, choices=PaymentStatus.choices,
        default=PaymentStatus.UNPAID, editable=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        db_index=False,  # indexed by opp_owner_created

    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Who changed what and when; search_text is derived, so not kept.
    history = HistoricalRecords(excluded_fields=["search_text"])

    # Searching keeps a cheaper way to read a broad search's first pages.
    objects = ScannableQuerySet.as_manager()

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_at"]
        permissions = [
            ("import_opportunity", _("Can import opportunities from a spreadsheet")),
            ("export_opportunity", _("Can export opportunities to a spreadsheet")),
            # Without it a user sees only their own records (crm/roles.py).
            ("view_all_records", _("Can see every salesperson's customers and opportunities")),
        ]
        indexes = [
            models.Index(fields=["stage", "created_at"], name="opp_stage_created"),
            models.Index(fields=["status", "created_at"], name="opp_status_created"),
            models.Index(fields=["owner", "created_at"], name="opp_owner_created"),
            models.Index(fields=["customer", "created_at"], name="opp_customer_created"),
            models.Index(fields=["expected_close_date"], name="opp_expected_close"),
            # Pipeline board: the newest cards of one stage column.
            models.Index(fields=["stage", "stage_changed_at"], name="opp_stage_since"),
            # Dashboard (crm/dashboard.py), each covering so a period reads only
            # its date range of one index:
            # opportunities created in a period by owner and stage, and the
            # monthly closing-rate trend;
            models.Index(
                fields=["created_at", "owner", "stage", "amount"], name="opp_created_cover"
            ),
            # opportunities closed in a period: win rate, won value, days to win;
            models.Index(
                fields=["closed_at", "status", "owner", "amount", "created_at"],
                name="opp_closed_cover",
            ),
            # top lost reasons of a period.
            models.Index(fields=["stage", "closed_at", "lost_reason"], name="opp_lost_reasons"),
            # Orders: receivables and orders in progress (the dashboard, list filters).
            models.Index(
                fields=["status", "payment_status", "payment_due_date"], name="opp_receivables"
            ),
            models.Index(fields=["status", "fulfilment_status"], name="opp_fulfilment"),
            # Follow-ups due, per salesperson.
            models.Index(fields=["owner", "next_step_date"], name="opp_follow_ups"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage=Stage.LOST) | ~Q(lost_reason=""),
                name="opp_lost_needs_reason",
                violation_error_message=_("A lost opportunity needs a lost reason."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="opp_amount_not_negative"
            ),
        ]

    # The stage and order status as last loaded or saved, to tell in save()
    # whether they changed.
    _saved_stage = None
    _saved_fulfilment = None

    def __str__(self):
        return self.title

    def save(self, *args, changed_by=None, **kwargs):
        """Save, applying the stage rules and recording a stage change.

        Also refreshes the search text from the title and the customer.

        ``changed_by`` is the user who made the change, for the stage history.
        """
        if self._saved_stage is _NOT_LOADED:
            self._saved_stage = (
                type(self).objects.filter(pk=self.pk).values_list("stage", flat=True).first()
            )
        stage_changed = self.stage != self._saved_stage
        self.status = status_for_stage(self.stage)
        now = timezone.now()
        if stage_changed:
            self.stage_changed_at = now
        if self.status == Status.OPEN:
            self.closed_at = None
        elif stage_changed or self.closed_at is None:
            self.closed_at = now
        if self.stage != Stage.LOST:
            self.lost_reason = ""
        # The amount may change after payments: what they make it stays true.
        from crm.orders import payment_status_for  # imports this module

        self.payment_status = payment_status_for(self.amount, self.amount_paid)
        if kwargs.get("update_fields") is not None and "amount" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "payment_status"}
        self.search_text = search_text_of(self.title, self.customer)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        if stage_changed and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"],
                "stage", "status", "closed_at", "lost_reason", "stage_changed_at",
            }
        from crm import rollups  # imports this module

        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            before = None if self.pk is None else rollups.Snapshot.in_database(self.pk, using)
            super().save(*args, **kwargs)
            rollups.record_change(before, self._rollup_snapshot(before, kwargs), using)
            from crm.whatsapp.notifications import opportunity_saved

            opportunity_saved(
                self, stage_changed=stage_changed,
                fulfilment_changed=self.fulfilment_status != self._saved_fulfilment,
            )
            if stage_changed:
                StageChange.objects.create(
                    opportunity=self,
                    from_stage=self._saved_stage or "",
                    to_stage=self.stage,
                    changed_at=self.stage_changed_at,
                    changed_by=changed_by,
                )
        self._saved_stage = self.stage
        self._saved_fulfilment = self.fulfilment_status

    def _rollup_snapshot(self, before, save_kwargs):
        """What is stored now: with update_fields, unlisted fields kept their old values."""
        from crm import rollups

        after = rollups.Snapshot.of(self)
        update_fields = save_kwargs.get("update_fields")
        if before is None or update_fields is None:
            return after
        kept = {
            name: getattr(before, name)
            for name in rollups.Snapshot.FIELDS
            if name not in update_fields and name.removesuffix("_id") not in update_fields
        }
        return dataclasses.replace(after, **kept)

    def clean(self):
        if self.stage == Stage.LOST and not self.lost_reason.strip():
            raise ValidationError(
                {"lost_reason": _("Say why the opportunity was lost.")}, code="lost_reason"
            )

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Read from __dict__: a deferred stage must not cost a query per row.
        instance._saved_stage = instance.__dict__.get("stage", _NOT_LOADED)
        instance._saved_fulfilment = instance.__dict__.get("fulfilment_status")
        return instance

    def move_to_stage(self, stage, *, by=None, lost_reason=""):
        """Move the opportunity to ``stage``, validating the stage rules first."""
        self.stage = stage
        if lost_reason:
            self.lost_reason = lost_reason
        self.full_clean()
        self.save(changed_by=by)


class StageChange(models.Model):
    """One move of an opportunity from a stage to another (creation has no from)."""

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    from_stage = models.CharField(_("from"), max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=20, choices=Stage.choices)
    changed_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["opportunity", "changed_at", "pk"]
        indexes = [models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_when")]

    def __str__(self):
        return f"{self.get_from_stage_display() or '-'} → {self.get_to_stage_display()}"


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


# --- Dashboard rollups --------------------------------------------------------
# Running totals of opportunities per local day, kept by crm/rollups.py in
# the same transaction as every change, so the dashboard reads a few thousand
# rollup rows instead of millions of opportunities. ``owner_key`` is the
# owner's user id, 0 for none: a NULL would not collide in the unique key.


class CreatedDay(models.Model):
    """Opportunities created on a local day, by owner and current stage."""

    day = models.DateField()
    owner_key = models.PositiveIntegerField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index every dashboard query reads: a period is a day range.
            models.UniqueConstraint(
                fields=["day", "owner_key", "stage"], name="createdday_key"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.owner_key} {self.stage}: {self.count}"


class ClosedDay(models.Model):
    """Opportunities closed on a local day, by owner, outcome and lost reason."""

    day = models.DateField()
    owner_key = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    lost_reason = models.CharField(max_length=200, blank=True)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    # Sum of (closed_at - created_at), for the average days to win.
    seconds_to_close = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "owner_key", "status", "lost_reason"], name="closedday_key"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.owner_key} {self.status}: {self.count}"


class OrderTotal(models.Model):
    """Won opportunities (orders) by due date, owner, order and payment status:
    what the dashboard's receivables read (crm/rollups.py keeps them)."""

    due_date = models.DateField()  # 9999-12-31: no due date
    owner_key = models.PositiveIntegerField()
    fulfilment_status = models.CharField(max_length=12)
    payment_status = models.CharField(max_length=12)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["due_date", "owner_key", "fulfilment_status", "payment_status"],
                name="ordertotal_key",
            ),
        ]

    def __str__(self):
        return f"{self.due_date} {self.owner_key} {self.payment_status}: {self.count}"


# The WhatsApp outbox's models live with the rest of WhatsApp messaging;
# importing them here makes them models of this app.
from crm.orders import Payment  # noqa: E402, F401
from crm.whatsapp.models import (  # noqa: E402, F401
    Message,
    MessageBatch,
    MessageTemplate,
    NotificationRule,
    ScheduledRun,
    SendingState,
    StaffProfile,
)


class WorkerHeartbeat(models.Model):
    """A task worker's sign of life, written every few seconds (manage.py worker)."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self):
        return f"{self.worker_id} ({self.beat_at:%H:%M:%S})"


class ImportJob(models.Model):
    """A large import or undo run by the task worker, with its progress.

    ``rows_done`` is written while the work's own transaction is still open,
    by crm.import_jobs (on another connection, or beside an SQLite database).
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
