"""Pausing all WhatsApp sending, for every worker, and resuming it.

A refused token (401/403), an unknown device or a phone disconnected from
KirimWA make every send fail the same way: sending pauses instead (the
state is the one ``SendingState`` row every worker reads before claiming),
and the owner is told why (crm/whatsapp/outlook.py). A probe from the
workers' heartbeat resumes it when KirimWA answers again; "Coba lagi"
resumes it at once.
"""

import datetime

from django.core.cache import cache
from django.utils import timezone

from crm.models import SendingState
from crm.whatsapp import gateway, wake
from crm.whatsapp.state import sending_state

# While paused, how often the heartbeat asks KirimWA whether it is over;
# while sending, how often it checks the phone is still connected, and the quota.
PROBE_EVERY = datetime.timedelta(seconds=60)
DEVICE_CHECK_EVERY = datetime.timedelta(minutes=10)
QUOTA_CHECK_EVERY = datetime.timedelta(hours=1)


# The dashboard's alerts keep the pause in this process's memory for a few
# seconds (crm/whatsapp/outlook.py); a change made here is shown at once.
ALERT_STATE_KEY = "crm.whatsapp.alert_state"


def pause_sending(reason, detail, now):
    """Stop all sending, on every worker, until a probe or the owner resumes it."""
    SendingState.objects.get_or_create(pk=1)
    SendingState.objects.filter(pk=1).exclude(paused_reason=reason).update(
        paused_reason=reason, paused_at=now
    )
    SendingState.objects.filter(pk=1).update(paused_detail=detail[:1000], probed_at=now)
    cache.delete(ALERT_STATE_KEY)


def resume_sending():
    """Lift a pause and start sending at once; return whether one was lifted.
    If its cause is still there, the first send pauses again."""
    lifted = SendingState.objects.filter(pk=1).exclude(paused_reason="").update(
        paused_reason="", paused_at=None, paused_detail=""
    )
    cache.delete(ALERT_STATE_KEY)
    wake.start_sending_after_commit()
    return bool(lifted)


def probe_gateway(now=None, backend=None):
    """Ask KirimWA whether the device is connected: while paused every
    PROBE_EVERY (success resumes sending), otherwise every DEVICE_CHECK_EVERY
    (a disconnected phone pauses it); and the month's quota every hour.
    Called from every worker's heartbeat, through restart_if_stalled."""
    now = now or timezone.now()
    state = sending_state()
    every = PROBE_EVERY if state.paused_reason else DEVICE_CHECK_EVERY
    if state.probed_at and now - state.probed_at < every:
        return
    # Claimed by a conditional update, so one worker's heartbeat probes, not all.
    if not SendingState.objects.filter(pk=1, probed_at=state.probed_at).update(probed_at=now):
        return
    backend = backend or gateway.get_backend()
    try:
        connected = backend.device_connected()
    except gateway.GatewayError as error:
        if error.pause:
            pause_sending(error.pause, str(error), now)
        return  # unreachable: proves nothing either way
    if not connected:
        pause_sending(gateway.PAUSE_DISCONNECTED, "GET /devices: status disconnected", now)
    elif state.paused_reason:
        resume_sending()
    if not state.quota_checked_at or now - state.quota_checked_at >= QUOTA_CHECK_EVERY:
        try:
            quota = backend.quota()
        except gateway.GatewayError:
            return
        if quota is not None:
            SendingState.objects.filter(pk=1).update(
                quota_sent=quota.sent, quota_per_month=quota.per_month, quota_checked_at=now
            )


def device_status_changed(connected, now=None):
    """KirimWA's webhook said the phone (dis)connected."""
    now = now or timezone.now()
    if not connected:
        pause_sending(gateway.PAUSE_DISCONNECTED, "webhook device_status_changed: disconnected",
                      now)
    elif SendingState.objects.filter(
        pk=1, paused_reason__in=[gateway.PAUSE_DISCONNECTED, gateway.PAUSE_DEVICE_MISSING]
    ).exists():
        resume_sending()
