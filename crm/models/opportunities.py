"""Opportunities: each sale followed through the pipeline, and its stage history."""

import dataclasses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.largelists.queryset import ScannableQuerySet
from crm.models.choices import (
    Fulfilment,
    PaymentStatus,
    Stage,
    Status,
    payment_status_for,
    status_for_stage,
)
from crm.models.customers import Customer
from crm.models.events import Snapshot, opportunity_saved

_NOT_LOADED = object()



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
    # by Customer.save() / the queryset's refresh_search_text()
    # (crm/largelists/search_text.py).
    search_text = models.TextField(blank=True, default="", editable=False)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    # Follow-up: what was promised next, and when.
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    # The order, once won (crm/models/orders.py).
    fulfilment_status = models.CharField(
        _("order status"), max_length=12, choices=Fulfilment.choices,
        default=Fulfilment.IN_PROGRESS,
    )
    payment_due_date = models.DateField(_("payment due"), null=True, blank=True)
    # Sum of the payments and what it makes the order: kept by crm/models/orders.py.
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
        self.payment_status = payment_status_for(self.amount, self.amount_paid)
        if kwargs.get("update_fields") is not None and "amount" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "payment_status"}
        self.search_text = ScannableQuerySet.search_text_of(self.title, self.customer)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        if stage_changed and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"],
                "stage", "status", "closed_at", "lost_reason", "stage_changed_at",
            }
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            before = None if self.pk is None else Snapshot.in_database(type(self), self.pk, using)
            super().save(*args, **kwargs)
            # The rollups, the WhatsApp notifications and the stage history
            # follow, in this transaction (crm/subscribers.py).
            opportunity_saved.send(
                type(self), opportunity=self, before=before,
                after=self._rollup_snapshot(before, kwargs),
                stage_changed=stage_changed,
                fulfilment_changed=self.fulfilment_status != self._saved_fulfilment,
                from_stage=self._saved_stage or "", changed_by=changed_by, using=using,
            )
        self._saved_stage = self.stage
        self._saved_fulfilment = self.fulfilment_status

    def _rollup_snapshot(self, before, save_kwargs):
        """What is stored now: with update_fields, unlisted fields kept their old values."""
        after = Snapshot.of(self)
        update_fields = save_kwargs.get("update_fields")
        if before is None or update_fields is None:
            return after
        kept = {
            name: getattr(before, name)
            for name in Snapshot.FIELDS
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

