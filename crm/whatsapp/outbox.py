"""The outbox: what is to be sent, written as queued messages.

Every message enters through ``queue``: bulk sends (``queue_messages``),
notifications and digests (crm/whatsapp/notifications.py, digests.py).
Also here: planning a bulk send (who gets it, who is skipped and why),
queueing failed messages again, and opting a customer out. Writing the rows
is all a request does: workers send them (crm/whatsapp/sender.py, run by
crm/whatsapp/tasks.py), started once the transaction commits.
"""

import itertools
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from crm.models import Message, MessageBatch
from crm.phones import is_sendable
from crm.whatsapp import tasks
from crm.whatsapp.eligibility import eligible_condition, skip_reason
from crm.whatsapp.templates import check_placeholders, render

Status = Message.Status
Reason = Message.Reason

PREVIEW_COUNT = 3
SKIPPED_SHOWN = 50
QUEUE_CHUNK = 1000


@dataclass
class Preview:
    customer: object
    opportunity: object
    text: str


@dataclass
class Plan:
    """What a bulk send would do: shown on the confirmation page."""

    recipient_count: int = 0
    previews: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (customer, reason), the first few
    skipped_count: int = 0


def _split(customers, opportunities):
    """(rows, eligible condition): customers, or opportunities with their customer."""
    if opportunities is not None:
        return opportunities.select_related("customer").order_by("pk"), eligible_condition(
            "customer__"
        )
    return customers.order_by("pk"), eligible_condition()


def _pair(row, opportunities):
    return (row.customer, row) if opportunities is not None else (row, None)


def plan_messages(text, *, customers=None, opportunities=None):
    """Who would get ``text`` and who would be skipped, and why: a few
    aggregate queries, whatever the size of the selection."""
    check_placeholders(text, for_opportunities=opportunities is not None)
    rows, eligible = _split(customers, opportunities)
    counts = rows.aggregate(
        recipients=Count("pk", filter=eligible),
        skipped=Count("pk", filter=~eligible),
    )
    plan = Plan(recipient_count=counts["recipients"], skipped_count=counts["skipped"])
    for row in rows.filter(eligible)[:PREVIEW_COUNT]:
        customer, opportunity = _pair(row, opportunities)
        plan.previews.append(Preview(customer, opportunity, render(text, customer, opportunity)))
    for row in rows.exclude(eligible)[:SKIPPED_SHOWN]:
        customer, _opportunity = _pair(row, opportunities)
        plan.skipped.append((customer, skip_reason(customer)))
    return plan


def queue_messages(text, *, by, customers=None, opportunities=None, template=None,
                   request_token=None):
    """Write one queued message per recipient, in one transaction; return the batch.

    Sending starts once the transaction commits. When no one can receive the
    message the batch is returned unsaved, with its skipped count: a send
    that did nothing leaves no record in the log. A ``request_token`` already
    used (the same confirmation posted twice) queues nothing and returns the
    batch it made, with ``repeated`` set.
    """
    if request_token and (done := _batch_of(request_token)) is not None:
        return done
    check_placeholders(text, for_opportunities=opportunities is not None)
    rows, eligible = _split(customers, opportunities)
    if not rows.filter(eligible).exists():
        return MessageBatch(created_by=by, template=template, text=text, queued_count=0,
                            skipped_count=rows.count())
    with transaction.atomic():
        try:
            with transaction.atomic():
                batch = MessageBatch.objects.create(created_by=by, template=template, text=text,
                                                    request_token=request_token or None)
        except IntegrityError:
            # The same confirmation, posted at the same moment, made its batch first.
            if not request_token:
                raise
            return _batch_of(request_token)
        refused = []
        batch.queued_count = queue(
            _bulk_messages(rows.filter(eligible), opportunities, text, batch, refused)
        )
        batch.skipped_count = rows.exclude(eligible).count() + len(refused)
        if not batch.queued_count:
            batch.delete()  # no one could receive it after all: no record, as above
            return MessageBatch(created_by=by, template=template, text=text, queued_count=0,
                                skipped_count=batch.skipped_count)
        batch.save(update_fields=["queued_count", "skipped_count"])
    return batch


def _bulk_messages(rows, opportunities, text, batch, refused):
    """The batch's message to each row's customer whose number is sendable;
    the others (of the right shape, not sendable: see eligibility) go to ``refused``."""
    for row in rows.iterator(chunk_size=QUEUE_CHUNK):
        customer, opportunity = _pair(row, opportunities)
        if not is_sendable(customer.phone):
            refused.append(customer.pk)
            continue
        yield Message(
            customer=customer, opportunity=opportunity, batch=batch, phone=customer.phone,
            text=render(text, customer, opportunity), queued_by=batch.created_by,
            created_at=batch.created_at, send_after=batch.created_at,
        )


def queue(messages):
    """Write ``messages`` (unsaved Messages, any number: a generator is read
    in chunks) as queued; return how many were written. Sending starts once
    the transaction commits.

    A message with an ``event_key`` is queued once only: one whose key is in
    the outbox already (an event that happened twice, won -> negotiation ->
    won, or two schedulers running the same day's reminders) is passed over.
    """
    messages = iter(messages)
    written = 0
    while chunk := list(itertools.islice(messages, QUEUE_CHUNK)):
        plain = [message for message in chunk if not message.event_key]
        Message.objects.bulk_create(plain)
        written += len(plain) + sum(_queue_once(m) for m in chunk if m.event_key)
    if written:
        transaction.on_commit(tasks.start_sending)
    return written


def _queue_once(message):
    try:
        # A savepoint: a duplicate key must not spoil the caller's transaction.
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        return 0  # queued for this event already
    return 1


def _batch_of(request_token):
    batch = MessageBatch.objects.filter(request_token=request_token).first()
    if batch is not None:
        batch.repeated = True
    return batch


def requeue(messages):
    """Queue failed or unknown ``messages`` again; return how many."""
    count = messages.filter(status__in=[Status.FAILED, Status.UNKNOWN]).update(
        status=Status.QUEUED, send_after=timezone.now(), error="", reason="", attempts=0,
        gateway_id="", checked_at=None,
    )
    if count:
        transaction.on_commit(tasks.start_sending)
    return count


def opt_out(customer):
    """The customer asked for no more messages: none of their queued ones goes."""
    customer.whatsapp_opt_out = True
    customer.save(update_fields=["whatsapp_opt_out", "updated_at"])
    Message.objects.filter(customer=customer, status=Status.QUEUED).update(
        status=Status.FAILED, reason=Reason.OPTED_OUT, error=""
    )
