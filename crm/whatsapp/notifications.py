"""Automatic WhatsApp notifications: order confirmation, order done, payment
receipt, and payment reminders around the due date.

Each goes through the outbox like a manual send (same worker, limits,
opt-out). Each carries an event key, unique in the outbox, so an event that
happens twice (won → negotiation → won), or two schedulers running the same
day's reminders at once, queues the message once.
"""

import datetime
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import Message, NotificationRule, ScheduledRun
from crm.whatsapp.eligibility import VALID_PHONE, skip_reason
from crm.whatsapp.tasks import start_sending as _start_sending
from crm.whatsapp.templates import render

Event = NotificationRule.Event


def notify(event, opportunity, key, rules=None, payment=None):
    """Queue the ``event`` notifications of every active rule (or of ``rules``)
    for ``opportunity`` (and the ``payment`` of a receipt), once per rule and
    ``key``; return how many were queued."""
    if rules is None:
        rules = NotificationRule.objects.filter(event=event, active=True)
        rules = rules.select_related("template")
    customer = opportunity.customer
    queued = 0
    for rule in rules:
        if skip_reason(customer) is not None:
            continue
        try:
            # A savepoint: a duplicate key must not spoil the caller's transaction.
            with transaction.atomic():
                Message.objects.create(
                    customer=customer, opportunity=opportunity, phone=customer.phone,
                    text=render(rule.template.text, customer, opportunity, payment),
                    event_key=f"rule {rule.pk}: {event}: {key}"[:100],
                )
        except IntegrityError:
            continue  # queued for this event already
        queued += 1
    if queued:
        transaction.on_commit(_start_sending)
    return queued


def opportunity_saved(opportunity, *, stage_changed, fulfilment_changed):
    """Called by Opportunity.save() in its transaction."""
    from crm.models import Fulfilment, Stage

    if stage_changed and opportunity.stage == Stage.WON:
        notify(Event.WON, opportunity, f"opportunity {opportunity.pk}")
    if fulfilment_changed and opportunity.fulfilment_status == Fulfilment.DONE:
        notify(Event.ORDER_DONE, opportunity, f"opportunity {opportunity.pk}")


def payment_recorded(payment):
    """Called by Payment.save() for a new payment, in its transaction."""
    notify(Event.PAYMENT_RECEIVED, payment.opportunity, f"payment {payment.pk}",
           payment=payment)


def send_payment_reminders(today=None):
    """Queue today's reminders: for each reminder rule, the unpaid orders whose
    due date is ``days`` from today (local date). Returns how many."""
    from crm.models import Opportunity, PaymentStatus, Status

    today = today or timezone.localdate()
    queued = 0
    reminders = NotificationRule.objects.filter(event=Event.PAYMENT_DUE, active=True)
    for rule in reminders.select_related("template"):
        due = today - datetime.timedelta(days=rule.days)
        orders = (
            Opportunity.objects.filter(status=Status.WON, payment_due_date=due)
            .exclude(payment_status=PaymentStatus.PAID)
            .select_related("customer")
        )
        for order in orders:
            key = f"order {order.pk} due {due}"
            queued += notify(Event.PAYMENT_DUE, order, key, rules=[rule])
    return queued


def digest_text(user, today):
    """The morning digest for ``user``: their follow-ups due (or overdue) and
    their orders whose payment is overdue; None when there is nothing."""
    from crm.formatting import format_rupiah
    from crm.models import Opportunity, PaymentStatus, Status

    mine = Opportunity.objects.filter(owner=user).select_related("customer")
    follow_ups = mine.filter(status=Status.OPEN, next_step_date__lte=today).order_by(
        "next_step_date", "pk"
    )
    overdue = (
        mine.filter(status=Status.WON, payment_due_date__lt=today)
        .exclude(payment_status=PaymentStatus.PAID)
        .order_by("payment_due_date", "pk")
    )
    if not follow_ups and not overdue:
        return None
    name = user.get_full_name() or user.get_username()
    lines = [f"Selamat pagi, {name}!"]
    if follow_ups:
        lines.append(f"Tindak lanjut hari ini ({len(follow_ups)}):")
        lines += [
            f"- {deal.customer.name}: {deal.next_step or deal.title}"
            + (" (terlambat)" if deal.next_step_date < today else "")
            for deal in follow_ups
        ]
    if overdue:
        lines.append(f"Pembayaran terlambat ({len(overdue)}):")
        lines += [
            f"- {deal.customer.name}: {deal.title}, sisa "
            f"{format_rupiah(deal.amount - deal.amount_paid)}"
            for deal in overdue
        ]
    return "\n".join(lines)


def send_digests(today=None):
    """Queue each salesperson's morning digest to their own WhatsApp number."""
    from crm.models import StaffProfile

    today = today or timezone.localdate()
    profiles = StaffProfile.objects.filter(
        daily_digest=True, user__is_active=True
    ).exclude(whatsapp="").select_related("user")
    queued = 0
    for profile in profiles:
        text = digest_text(profile.user, today)
        if text is None or not re.match(VALID_PHONE, profile.whatsapp):
            continue
        try:
            with transaction.atomic():
                Message.objects.create(
                    staff=profile.user, phone=profile.whatsapp, text=text,
                    event_key=f"digest {profile.user_id} {today}",
                )
        except IntegrityError:
            continue
        queued += 1
    if queued:
        transaction.on_commit(_start_sending)
    return queued


def run_daily_jobs(today=None):
    """The day's periodic jobs, once per day whoever starts them first (the
    workers' heartbeat, or ``manage.py run_scheduled`` from cron). Returns the
    jobs this call ran."""
    now = timezone.localtime()
    today = today or now.date()
    if today == now.date() and now.time() < datetime.time.fromisoformat(
        settings.WHATSAPP_DAILY_JOBS_AT
    ):
        return []  # too early: reminders belong to the morning
    ran = []
    for job, function in DAILY_JOBS.items():
        if ScheduledRun.objects.filter(job=job, day=today).exists():
            continue
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job, day=today)
                function(today)
        except IntegrityError:
            continue  # another scheduler took today's run
        ran.append(job)
    return ran


DAILY_JOBS = {"payment reminders": send_payment_reminders, "digests": send_digests}
