"""Orders and payments: a won opportunity is an order to make, deliver and get paid for.

Payments are rows (date, amount, method) so partial payments add up; the
opportunity's ``amount_paid`` and ``payment_status`` are derived from them
here, in the same transaction, never typed. A payment on an opportunity that
is not won, or one that would pay more than the order's amount, is refused.
"""

import dataclasses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.formatting import format_rupiah
from crm.models.choices import Fulfilment, PaymentStatus, Status, payment_status_for
from crm.models.events import Snapshot, payment_recorded
from crm.models.opportunities import Opportunity
from crm.models.rollups import record_change


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        TRANSFER = "transfer", _("Bank transfer")
        QRIS = "qris", _("QRIS")
        EWALLET = "ewallet", _("E-wallet")

    opportunity = models.ForeignKey(
        "crm.Opportunity", verbose_name=_("opportunity"), on_delete=models.CASCADE,
        related_name="payments",
    )
    paid_on = models.DateField(_("paid on"), default=timezone.localdate)
    amount = models.BigIntegerField(_("amount (Rp)"), validators=[MinValueValidator(1)])
    method = models.CharField(_("method"), max_length=10, choices=Method.choices,
                              default=Method.TRANSFER)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    # The payment form's one-time token for this row: see record_payment().
    request_token = models.CharField(max_length=80, unique=True, null=True, blank=True,
                                     editable=False)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["paid_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{format_rupiah(self.amount)} ({self.paid_on:%d-%m-%Y})"

    def save(self, *args, **kwargs):
        with transaction.atomic():
            # Locked, so two payments recorded at once cannot overpay together.
            opportunity = type(self.opportunity).objects.select_for_update().get(
                pk=self.opportunity_id
            )
            check_payment(opportunity, self.amount, exclude=self.pk)
            adding = self._state.adding
            super().save(*args, **kwargs)
            update_payment_status(opportunity)
            self.opportunity = opportunity
            if adding:
                # The receipt goes out on WhatsApp (crm/subscribers.py).
                payment_recorded.send(type(self), payment=self)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            update_payment_status(self.opportunity)
        return result

    def clean(self):
        if self.opportunity_id is None:
            return
        check_payment(self.opportunity, self.amount or 0, exclude=self.pk)


def record_payment(payment):
    """Save the new ``payment`` once per ``request_token``; return the payment
    that stands and whether it was recorded now.

    A payment form posted twice (a double tap, or Back and Save again) carries
    the same token: the second post finds the first one's payment and records
    nothing, so no second receipt goes out either.
    """
    if not payment.request_token:
        payment.save()
        return payment, True
    with transaction.atomic():
        # Locked as save() locks it, so a second post waits for the first.
        Opportunity.objects.select_for_update().only("pk").get(pk=payment.opportunity_id)
        earlier = Payment.objects.filter(request_token=payment.request_token).first()
        if earlier is not None:
            return earlier, False
        try:
            with transaction.atomic():
                payment.save()
        except IntegrityError:
            # Only a token copied into another order's form gets here.
            earlier = Payment.objects.filter(request_token=payment.request_token).first()
            if earlier is None:
                raise
            return earlier, False
    return payment, True


def _paid(opportunity, exclude=None):
    payments = Payment.objects.filter(opportunity_id=opportunity.pk)
    if exclude is not None:
        payments = payments.exclude(pk=exclude)
    return payments.aggregate(total=Sum("amount"))["total"] or 0


def check_payment(opportunity, amount, exclude=None):
    """Raise ValidationError unless ``amount`` may be paid on ``opportunity``."""
    if opportunity.status != Status.WON:
        raise ValidationError(
            _("A payment can only be recorded for a won opportunity (an order)."),
            code="not_won",
        )
    outstanding = opportunity.amount - _paid(opportunity, exclude)
    if amount > outstanding:
        raise ValidationError(
            _("That is more than the order's outstanding %(outstanding)s.")
            % {"outstanding": format_rupiah(max(outstanding, 0))},
            code="overpayment",
        )


def check_payments_together(opportunity, amounts):
    """Raise ValidationError if the payments ``amounts``, each allowed alone,
    would together pay more than the order's amount (a form edits several)."""
    total = sum(amounts)
    if total > opportunity.amount:
        raise ValidationError(
            gettext("The payments add up to %(total)s, more than the amount %(amount)s.")
            % {"total": format_rupiah(total), "amount": format_rupiah(opportunity.amount)}
        )


def update_payment_status(opportunity):
    """Derive the opportunity's paid amount and payment status from its payments
    (and move its share of the dashboard's rollups with them)."""
    using = opportunity._state.db or "default"
    before = Snapshot.in_database(type(opportunity), opportunity.pk, using)
    paid = _paid(opportunity)
    status = payment_status_for(opportunity.amount, paid)
    type(opportunity).objects.filter(pk=opportunity.pk).update(
        amount_paid=paid, payment_status=status
    )
    opportunity.amount_paid, opportunity.payment_status = paid, status
    if before is not None:
        record_change(
            before, dataclasses.replace(before, amount_paid=paid, payment_status=status), using
        )


def outstanding(opportunity):
    return max(opportunity.amount - opportunity.amount_paid, 0)


def receivables(opportunities, today=None):
    """Outstanding money, orders in progress and overdue payments, in one query."""
    today = today or timezone.localdate()
    won = opportunities.filter(status=Status.WON).order_by()
    unpaid = ~Q(payment_status=PaymentStatus.PAID)
    overdue = unpaid & Q(payment_due_date__lt=today)
    figures = won.aggregate(
        outstanding=Sum("amount", filter=unpaid, default=0)
        - Sum("amount_paid", filter=unpaid, default=0),
        in_progress=models.Count("pk", filter=Q(fulfilment_status=Fulfilment.IN_PROGRESS)),
        overdue=models.Count("pk", filter=overdue),
    )
    figures["today"] = today
    return figures
