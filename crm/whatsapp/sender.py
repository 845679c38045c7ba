"""The sender: workers send queued messages, each exactly once, and settle
the ones whose fate is unknown. Queueing is crm/whatsapp/outbox.py; the
task that runs this, crm/whatsapp/tasks.py. The rules:

* **One sender per message.** A worker claims a message with ``SELECT … FOR
  UPDATE SKIP LOCKED`` and a conditional ``UPDATE … WHERE status = 'queued'``,
  so workers on several machines sharing one database never take the same one.
* **Never send twice.** A message is resent only when the gateway surely did
  not get it (connection refused, 429, 503), after a backoff. When it may
  have got it (a timeout after sending, a 500), the message is ``unknown``
  and settled by the gateway's status, not by resending. A worker killed
  while sending leaves a stale ``sending`` claim, which becomes ``unknown``.
* **Every message ends settled.** Each attempt is written down (claimed,
  with a reference of our own) before the request goes out. An ``unknown``
  one is settled by what KirimWA knows: its status when we have its id, else
  its message list around the send time, matched by number and text (and
  its webhooks, crm/whatsapp/webhooks.py). With no trace after
  NOT_RECEIVED_AFTER it fails as "not received by KirimWA", which the owner
  may resend.
* **Ban safety.** The limits of crm/whatsapp/limits.py are decided as a
  message is claimed, under the lock on the shared state row. Opted-out
  customers get nothing.
* **Pauses.** A refused token, an unknown or disconnected device stop all
  sending at once instead of failing message by message
  (crm/whatsapp/pauses.py); a probe from the workers' heartbeat resumes it.
"""

import datetime
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from crm.models import Message, SendingState
from crm.models.workers import BEAT_EVERY, DEAD_AFTER
from crm.whatsapp import gateway, wake
from crm.whatsapp.limits import Limits, uncount
from crm.whatsapp.pauses import pause_sending, probe_gateway
from crm.whatsapp.state import locked_state, sending_state

Status = Message.Status
Reason = Message.Reason

# Waits shorter than this are slept inside the sending task; longer ones
# end it, and a task is scheduled for the moment sending may go on.
LONGEST_INLINE_WAIT = datetime.timedelta(seconds=15)
# How often an unknown message's status is asked again.
STATUS_CHECK_EVERY = datetime.timedelta(minutes=5)
# How long KirimWA may take to show a message it got in its list or by a
# webhook; an unknown message with no trace after this was not received.
NOT_RECEIVED_AFTER = datetime.timedelta(minutes=30)
# When KirimWA's list cannot be read at all, the webhook alone decides, later:
# no message stays unknown for ever.
NOT_RECEIVED_UNCHECKED_AFTER = datetime.timedelta(hours=2)
# How far the gateway's clock and ours may differ when matching its list.
CLOCK_SLACK = datetime.timedelta(minutes=5)
# MySQL's "Deadlock found when trying to get lock".
DEADLOCK = 1213
# How often a running sender says it is alive (every other heartbeat), and
# how long a silence means its worker died: as long as a worker's own
# (longer than a run's budget and its longest inline wait).
SEEN_EVERY = 2 * BEAT_EVERY
SILENT_TOO_LONG = DEAD_AFTER


# --- Sending -------------------------------------------------------------------


@dataclass
class Wait:
    until: datetime.datetime


def claim_next(now, limits):
    """The next due message, claimed for this worker; a Wait; or None if none is due."""
    with transaction.atomic():
        state = locked_state() if limits.active else None
        paused = (state or sending_state()).paused_reason
        if paused:
            return None  # the heartbeat's probe, or "Coba lagi", starts sending again
        if state is not None:
            until = limits.wait_until(state, now)
            if until:
                return Wait(until)
        candidate = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, send_after__lte=now)
            .order_by("send_after", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if candidate is None:
            return None
        # The conditional update is the claim where FOR UPDATE is a no-op (SQLite).
        claimed = Message.objects.filter(pk=candidate, status=Status.QUEUED).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1,
            reference=f"crm-{candidate}-{uuid.uuid4().hex[:8]}", checked_at=None,
        )
        if not claimed:
            return Wait(now)  # taken by another worker: look again at once
        if state is not None:
            limits.record_send(state, now)
    return Message.objects.select_related("customer").get(pk=candidate)


def send_claimed(message, backend, now):
    """Send one claimed message and record the outcome."""
    if message.customer is not None and message.customer.whatsapp_opt_out:
        _finish(message, status=Status.FAILED, reason=Reason.OPTED_OUT, error="")
        uncount(now)
        return
    try:
        gateway_id = backend.send_text(message.phone, message.text)
    except gateway.GatewayError as error:
        detail = f"{message.reference}: {error}"
        if error.pause:
            # Every other message would fail the same way: pause them all,
            # and this one waits with them, as if it had not been tried.
            pause_sending(error.pause, str(error), now)
            _finish(message, status=Status.QUEUED, error=detail, reason="",
                    attempts=max(0, message.attempts - 1), send_after=now)
            uncount(now)
        elif error.kind == gateway.RETRYABLE and message.attempts < settings.WHATSAPP_MAX_ATTEMPTS:
            backoff = settings.WHATSAPP_RETRY_SECONDS * 2 ** (message.attempts - 1)
            _finish(
                message, status=Status.QUEUED, error=detail, reason="",
                send_after=now + datetime.timedelta(seconds=backoff),
            )
            uncount(now)
        elif error.kind == gateway.UNKNOWN:
            _finish(message, status=Status.UNKNOWN, error=detail, reason=Reason.UNCONFIRMED)
        else:
            _finish(message, status=Status.FAILED, error=detail, reason=_failure_reason(error))
            uncount(now)
        return
    _finish(message, status=Status.SENT, gateway_id=gateway_id, sent_at=now, error="",
            reason="")


def _failure_reason(error):
    if error.kind == gateway.RETRYABLE:
        return Reason.BUSY
    if error.status_code is None and "KIRIMWA_API_TOKEN" in str(error):
        return Reason.NOT_CONFIGURED
    return Reason.REFUSED


def _finish(message, **fields):
    # Only the worker holding the claim may settle the message.
    Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
        **fields, updated_at=timezone.now()
    )
    for name, value in fields.items():
        setattr(message, name, value)


def stale_after():
    """How long a claim may last: longer than any send can take."""
    timeout = settings.KIRIMWA_CONNECT_TIMEOUT + settings.KIRIMWA_READ_TIMEOUT
    return datetime.timedelta(seconds=timeout + 60)


def recover_stale_claims(now):
    """Claims older than any send can take belong to a worker that died.

    The request may have gone out before it died, so the message is
    ``unknown``, never queued again automatically.
    """
    stale_before = now - stale_after()
    # Ids first, without locks, then the update by primary key: locking
    # through the (status, claimed_at) index, while a live sender holds a
    # row and waits for that index, deadlocked (seen with 4 workers).
    stale = list(
        Message.objects.filter(status=Status.SENDING, claimed_at__lt=stale_before)
        .order_by("pk").values_list("pk", flat=True)[:1000]
    )
    if not stale:
        return 0
    try:
        return Message.objects.filter(
            pk__in=stale, status=Status.SENDING, claimed_at__lt=stale_before
        ).update(
            status=Status.UNKNOWN,
            reason=Reason.WORKER_STOPPED,
            error="The sender stopped while sending: the gateway may or may not have it.",
            checked_at=None,
            updated_at=now,
        )
    except OperationalError as error:
        if error.args and error.args[0] == DEADLOCK:
            return 0  # the next check tries again; a sender must not die of it
        raise


def settle_unknown(backend, now, limit=100):
    """Settle unknown messages by what KirimWA knows; return how many were settled.

    By its status when we have its id; else by its message list around the
    send time, matched by number and text; with no trace NOT_RECEIVED_AFTER
    after the attempt, as "not received by KirimWA". A lookup that failed
    proves nothing: the message is asked about again later.
    """
    due = Q(checked_at__isnull=True) | Q(checked_at__lte=now - STATUS_CHECK_EVERY)
    unknown = list(
        Message.objects.filter(due, status=Status.UNKNOWN).order_by("claimed_at", "pk")[:limit]
    )
    settled = 0
    by_list = []
    for message in unknown:
        if not message.gateway_id:
            by_list.append(message)
            continue
        try:
            status = backend.status(message.gateway_id)
        except gateway.GatewayError as error:
            if error.pause:
                pause_sending(error.pause, str(error), now)
                return settled
            if error.kind == gateway.PERMANENT:
                by_list.append(message)  # an id it does not know: look for the text
            else:
                Message.objects.filter(pk=message.pk).update(checked_at=now)  # ask later
            continue
        apply_delivery_status(message, status.state, status.detail, now)
        settled += 1
    if by_list:
        settled += _settle_by_list(backend, by_list, now)
    return settled


def _settle_by_list(backend, messages, now):
    attempted = [m.claimed_at or m.created_at for m in messages]
    unread = ""
    try:
        recent = backend.recent_messages(min(attempted) - CLOCK_SLACK)
    except gateway.GatewayError as error:
        if error.pause:
            pause_sending(error.pause, str(error), now)
        # A failed lookup proves nothing, until NOT_RECEIVED_UNCHECKED_AFTER.
        late = [m for m, at in zip(messages, attempted, strict=True)
                if now - at >= NOT_RECEIVED_UNCHECKED_AFTER]
        Message.objects.filter(pk__in=[m.pk for m in messages]).update(checked_at=now)
        if error.pause or not late:
            return 0
        messages, attempted, recent = late, [m.claimed_at or m.created_at for m in late], []
        unread = f"; KirimWA's list could not be read: {error}"
    taken = set(
        Message.objects.filter(gateway_id__in=[r.id for r in recent])
        .values_list("gateway_id", flat=True)
    )
    candidates = [r for r in reversed(recent) if r.id not in taken]  # oldest first
    settled = 0
    for message, sent_at in zip(messages, attempted, strict=True):
        match = next((r for r in candidates if _same_message(r, message, sent_at)), None)
        if match is not None:
            candidates.remove(match)
            Message.objects.filter(pk=message.pk, status=Status.UNKNOWN).update(
                gateway_id=match.id, checked_at=now
            )
            apply_delivery_status(message, match.state, "", now)
            settled += 1
        elif now - sent_at >= NOT_RECEIVED_AFTER:
            count = Message.objects.filter(pk=message.pk, status=Status.UNKNOWN).update(
                status=Status.FAILED, reason=Reason.NOT_RECEIVED, checked_at=now,
                error=f"{message.reference}: not in KirimWA's message list and no delivery "
                      f"report {NOT_RECEIVED_AFTER} after the attempt ({message.error}){unread}",
                updated_at=now,
            )
            if count and timezone.localdate(sent_at) == timezone.localdate(now):
                uncount(now)
            settled += count
        else:
            Message.objects.filter(pk=message.pk).update(checked_at=now)
    return settled


def _same_message(record, message, sent_at):
    if (record.phone, record.text) != (message.phone, message.text):
        return False
    if record.created_at is None:
        return True  # the list did not say when: number and text must do
    return sent_at - CLOCK_SLACK <= record.created_at <= sent_at + stale_after() + CLOCK_SLACK


def apply_delivery_status(message, state, detail, now):
    """Record what the gateway says about ``message``; idempotent."""
    if state == "delivered":
        Message.objects.filter(
            pk=message.pk, status__in=[Status.SENT, Status.UNKNOWN, Status.SENDING]
        ).update(status=Status.DELIVERED, delivered_at=now, error="", reason="", updated_at=now)
    elif state == "failed":
        Message.objects.filter(
            pk=message.pk, status__in=[Status.SENT, Status.UNKNOWN, Status.SENDING]
        ).update(status=Status.FAILED, reason=Reason.UNDELIVERABLE,
                 error=detail or "KirimWA reported the message failed.", updated_at=now)
    elif state == "pending":
        Message.objects.filter(pk=message.pk, status=Status.UNKNOWN).update(
            status=Status.SENT, sent_at=F("claimed_at"), error="", reason="", updated_at=now
        )


def send_due_messages(budget_seconds=240, clock=timezone.now, sleep=time.sleep):
    """Send due messages for up to ``budget_seconds``; return when to run again (or None)."""
    limits = Limits.from_settings()
    backend = gateway.get_backend()
    started = seen = clock()
    _seen(started)
    recover_stale_claims(started)
    while (now := clock()) - started < datetime.timedelta(seconds=budget_seconds):
        if now - seen > SEEN_EVERY:
            seen = _seen(now)
            # A worker that died meanwhile left claims that are stale by now.
            recover_stale_claims(now)
        claimed = claim_next(now, limits)
        if claimed is None:
            break
        if isinstance(claimed, Wait):
            if claimed.until - now > LONGEST_INLINE_WAIT:
                settle_unknown(backend, now)
                return claimed.until
            sleep(max(0.0, (claimed.until - now).total_seconds()))
            continue
        send_claimed(claimed, backend, now)
    now = clock()
    settle_unknown(backend, now)
    return next_wake(now)


def _seen(now):
    SendingState.objects.get_or_create(pk=1)
    SendingState.objects.filter(pk=1).update(sender_seen_at=now)
    return now


def restart_if_stalled(now=None):
    """Start sending again when messages are due but no sender has shown
    itself for a while: the worker running it was killed, and the schedule
    of its next run went with it. Called by every worker's heartbeat.
    Returns True if sending was started."""
    now = now or timezone.now()
    probe_gateway(now)
    state = SendingState.objects.filter(pk=1).first()
    if state is not None and state.paused_reason:
        return False
    if state is not None and state.sender_seen_at and now - state.sender_seen_at < SILENT_TOO_LONG:
        return False
    due = Q(status=Status.QUEUED, send_after__lte=now)
    abandoned = Q(status=Status.SENDING, claimed_at__lt=now - stale_after())
    unsettled = Q(status=Status.UNKNOWN) & (
        Q(checked_at__isnull=True) | Q(checked_at__lte=now - STATUS_CHECK_EVERY)
    )
    waiting = Message.objects.filter(due | abandoned | unsettled).exists()
    if waiting:
        # Mark it seen now, so other workers' heartbeats do not start it too.
        _seen(now)
        wake.start_sending_after_commit()
    return waiting


def next_wake(now):
    """When there is next something to do: a queued message's time, a claim
    of another worker going stale (it died), or a status check."""
    if sending_state().paused_reason:
        return None  # the heartbeat's probe starts sending when the pause is over
    due = Message.objects.filter(status=Status.QUEUED).aggregate(due=Min("send_after"))["due"]
    oldest_claim = Message.objects.filter(status=Status.SENDING).aggregate(
        claimed=Min("claimed_at")
    )["claimed"]
    if oldest_claim is not None:
        stale = oldest_claim + stale_after()
        due = min(due, stale) if due else stale
    if Message.objects.filter(status=Status.UNKNOWN).exists():
        check = now + STATUS_CHECK_EVERY
        due = min(due, check) if due else check
    if due is not None:
        return max(due, now)
    return None
