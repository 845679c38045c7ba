"""The choices an opportunity moves through (stage, status, order and payment
status) and the rules that derive one from another: imported by the
opportunity table and by the tables and rules that count or pay it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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


def payment_status_for(amount, paid):
    """What ``paid`` of an order of ``amount`` makes its payment status."""
    if paid <= 0:
        return PaymentStatus.UNPAID
    if paid >= amount:
        return PaymentStatus.PAID
    return PaymentStatus.DOWN_PAYMENT


def status_for_stage(stage):
    """The pipeline status a stage belongs to: won, lost, or open for the rest."""
    return CLOSED_STAGES.get(stage, Status.OPEN)
