"""Ban safety: how fast, how many a day and when WhatsApp messages may go.

A rate, a random pause between messages, a daily cap and sending hours
(settings WHATSAPP_*), decided on the one shared SendingState row
(crm/whatsapp/state.py), locked, so the limits hold across all workers
together. The cap counts only what reached KirimWA: an attempt it never
accepted gives its place back.
"""

import datetime
import random
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from crm.models import SendingState


@dataclass(frozen=True)
class Limits:
    per_minute: int
    jitter_seconds: float
    daily_cap: int
    hours: tuple | None  # (start, end) as datetime.time, local

    @classmethod
    def from_settings(cls):
        return cls(
            per_minute=settings.WHATSAPP_RATE_PER_MINUTE,
            jitter_seconds=settings.WHATSAPP_JITTER_SECONDS,
            daily_cap=settings.WHATSAPP_DAILY_CAP,
            hours=parse_hours(settings.WHATSAPP_SENDING_HOURS),
        )

    @property
    def active(self):
        return bool(self.per_minute or self.jitter_seconds or self.daily_cap or self.hours)

    def window_opens(self, now):
        """None if ``now`` is within the sending hours, else when they next begin."""
        if not self.hours:
            return None
        local = timezone.localtime(now)
        start, end = self.hours
        if start <= local.time() < end:
            return None
        day = local.date() if local.time() < start else local.date() + datetime.timedelta(days=1)
        return datetime.datetime.combine(day, start, tzinfo=local.tzinfo)

    def wait_until(self, state, now):
        """When the next message may go (None: now), given the shared ``state``."""
        opens = self.window_opens(now)
        if opens:
            return opens
        today = timezone.localdate(now)
        if self.daily_cap and state.day == today and state.sent_on_day >= self.daily_cap:
            tomorrow = today + datetime.timedelta(days=1)
            start = self.hours[0] if self.hours else datetime.time(0, 0)
            return datetime.datetime.combine(tomorrow, start, tzinfo=timezone.localtime(now).tzinfo)
        if state.next_send_at and state.next_send_at > now:
            return state.next_send_at
        return None

    def record_send(self, state, now):
        today = timezone.localdate(now)
        if state.day != today:
            state.day, state.sent_on_day = today, 0
        state.sent_on_day += 1
        gap = 60 / self.per_minute if self.per_minute else 0
        gap += random.uniform(0, self.jitter_seconds)
        state.next_send_at = now + datetime.timedelta(seconds=gap)
        state.save(update_fields=["day", "sent_on_day", "next_send_at"])


def parse_hours(text):
    """``"08:00-21:00"`` -> (time(8), time(21)); empty -> None."""
    if not text.strip():
        return None
    start, end = (datetime.time.fromisoformat(part.strip()) for part in text.split("-"))
    return start, end


def uncount(now):
    """Give back the daily cap's place of an attempt KirimWA never accepted."""
    if Limits.from_settings().daily_cap:
        SendingState.objects.filter(
            pk=1, day=timezone.localdate(now), sent_on_day__gt=0
        ).update(sent_on_day=F("sent_on_day") - 1)
