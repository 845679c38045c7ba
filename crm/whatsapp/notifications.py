"""Automatic WhatsApp notifications to customers: order confirmation, order
done, payment receipt, and payment reminders around the due date; and the
day's periodic jobs (the reminders, and the staff's morning digests).

Each goes through the outbox like a manual send (same worker, limits,
opt-out). Each carries an event key, unique in the outbox, so an event that
happens twice (won → negotiation → won), or two schedulers running the same
day's reminders at once, queues the message once.
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import (
    Fulfilment,
    Message,
    NotificationRule,
    Opportunity,
    PaymentStatus,
    ScheduledRun,
    Stage,
    Status,
)
from crm.whatsapp import outbox
from crm.whatsapp.digests import send_digests
from crm.whatsapp.eligibility import skip_reason
from crm.whatsapp.templates import render

Event = NotificationRule.Event


def notify(event, opportunity, key, rules=None, payment=None):
    """Queue the ``event`` notifications of every active rule (or of ``rules``)
    for ``opportunity`` (and the ``payment`` of a receipt), once per rule and
    ``key``; return how many were queued."""
    customer = opportunity.customer
    if skip_reason(customer) is not None:
        return 0
    if rules is None:
        rules = NotificationRule.objects.filter(event=event, active=True)
        rules = rules.select_related("template")
    return outbox.queue(
        Message(
            customer=customer, opportunity=opportunity, phone=customer.phone,
            text=render(rule.template.text, customer, opportunity, payment),
            event_key=f"rule {rule.pk}: {event}: {key}"[:100],
        )
        for rule in rules
    )


def opportunity_saved(opportunity, *, stage_changed, fulfilment_changed):
    """Called by Opportunity.save() in its transaction."""
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
