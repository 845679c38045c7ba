"""What holds WhatsApp sending back, in the owner's language: why each
message waits or failed, and the alerts for the dashboard and the message
log (a pause with its cause and fix, no worker running).

Read-only: it reads the state the sender keeps (crm/whatsapp/state.py,
limits.py, sender.py) and explains it.
"""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.models import Message, SendingState, WorkerHeartbeat
from crm.models.workers import worker_down, worker_down_since
from crm.whatsapp import gateway
from crm.whatsapp.limits import Limits
from crm.whatsapp.pauses import ALERT_STATE_KEY
from crm.whatsapp.sender import NOT_RECEIVED_AFTER
from crm.whatsapp.state import sending_state

Status = Message.Status
Reason = Message.Reason


PAUSE_CAUSES = {
    gateway.PAUSE_TOKEN: gettext_lazy("KirimWA token refused: check KIRIMWA_API_TOKEN"),
    gateway.PAUSE_DEVICE_MISSING: gettext_lazy(
        "KirimWA device not found: check KIRIMWA_DEVICE_ID"
    ),
    gateway.PAUSE_DISCONNECTED: gettext_lazy(
        "The WhatsApp phone is disconnected from KirimWA: pair the device again in KirimWA "
        "(scan the QR code with the phone)"
    ),
}


def pause_cause(reason):
    return str(PAUSE_CAUSES.get(reason, reason))



@dataclass
class Outlook:
    """What holds queued messages back right now: read once per page."""

    now: datetime.datetime
    limits: Limits
    state: object

    @classmethod
    def current(cls, now=None):
        return cls(now or timezone.now(), Limits.from_settings(), sending_state())

    @property
    def window_opens(self):
        return self.limits.window_opens(self.now)

    @property
    def cap_reached(self):
        cap, state = self.limits.daily_cap, self.state
        return bool(cap and state.day == timezone.localdate(self.now)
                    and state.sent_on_day >= cap)


def _when(moment):
    return formats.date_format(timezone.localtime(moment), "d-m-Y H:i")


def why(message, outlook):
    """Why ``message`` waits, failed or is unknown, in the user's language
    ("" when there is nothing to say)."""
    if message.status == Status.QUEUED:
        if outlook.state.paused_reason:
            return _("Paused: %(cause)s") % {"cause": pause_cause(outlook.state.paused_reason)}
        opens = outlook.window_opens
        if opens:
            return _("Waiting for the sending hours: from %(when)s") % {"when": _when(opens)}
        if outlook.cap_reached:
            resumes = outlook.limits.wait_until(outlook.state, outlook.now)
            return _("Daily cap reached (%(sent)d of %(cap)d): continues %(when)s") % {
                "sent": outlook.state.sent_on_day, "cap": outlook.limits.daily_cap,
                "when": _when(resumes),
            }
        if message.send_after > outlook.now and message.attempts:
            return _("KirimWA was busy or unreachable: tried again at %(when)s") % {
                "when": _when(message.send_after)}
        if message.send_after > outlook.now:
            return _("Scheduled for %(when)s") % {"when": _when(message.send_after)}
        return _("In the queue: goes out shortly")
    if message.status == Status.SENDING:
        return _("Being sent now")
    if message.status == Status.SENT:
        return _("Accepted by KirimWA; waiting for its delivery report")
    if message.status in (Status.FAILED, Status.UNKNOWN):
        if message.reason:
            text = str(Reason(message.reason).label)
        elif message.status == Status.UNKNOWN:
            text = str(Reason.UNCONFIRMED.label)
        else:
            text = str(Reason.UNDELIVERABLE.label)
        if message.status == Status.UNKNOWN and message.claimed_at:
            text += " " + _("(until %(when)s at the latest)") % {
                "when": _when(message.claimed_at + NOT_RECEIVED_AFTER)}
        return text
    return ""


def waiting_count():
    return Message.objects.filter(status=Status.QUEUED).count()


@dataclass
class Alert:
    text: str
    resumable: bool = False


# The alerts are on every dashboard view; what they read is kept this long in
# the process's memory (a pause shows up to this much later in another
# process; this process's own pauses and resumes forget it at once).
ALERT_STATE_SECONDS = 5


def alert_state(fresh=True):
    """The pause and the newest worker heartbeat, in one query; without
    ``fresh``, at most every ALERT_STATE_SECONDS (the dashboard's budget is 8
    queries). None when the state row (made by migration 0024) was removed."""
    cached = None if fresh else cache.get(ALERT_STATE_KEY)
    if cached is not None:
        return cached or None
    state = SendingState.objects.filter(pk=1).annotate(
        newest_beat=Subquery(
            WorkerHeartbeat.objects.order_by("-beat_at").values("beat_at")[:1]
        )
    ).values("paused_reason", "paused_at", "newest_beat").first()
    cache.set(ALERT_STATE_KEY, state or {}, ALERT_STATE_SECONDS)
    return state


def sending_alerts(now=None, fresh=True):
    """What the owner must know about sending: a pause (cause, fix, how many
    wait) and workers that stopped beating (since when, what to run)."""
    now = now or timezone.now()
    alerts = []
    state = alert_state(fresh)
    if state is not None and state["paused_reason"]:
        count = waiting_count()
        alerts.append(Alert(ngettext(
            "%(cause)s; %(count)d message waiting (paused since %(since)s).",
            "%(cause)s; %(count)d messages waiting (paused since %(since)s).", count,
        ) % {"cause": pause_cause(state["paused_reason"]),
             "count": count, "since": _when(state["paused_at"] or now)}, resumable=True))
    if state is None:  # the row was removed: ask the heartbeats themselves
        down, last_beat = worker_down_since(now)
    else:
        down, last_beat = worker_down(state["newest_beat"], now)
    if down:
        if last_beat:
            text = _("No background worker has run since %(when)s: nothing is sent. "
                     "Start one with “python manage.py worker” (or “make run”).") % {
                "when": _when(last_beat)}
        else:
            text = _("No background worker is running: nothing is sent. "
                     "Start one with “python manage.py worker” (or “make run”).")
        alerts.append(Alert(text))
    return alerts
