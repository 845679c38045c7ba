"""The task workers' heartbeats, and when a silent worker counts as dead.

The one set of thresholds: the worker command, the WhatsApp sender and
/healthz all judge by these.
"""

import datetime
import os
import socket

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A worker beats this often (manage.py worker).
BEAT_EVERY = datetime.timedelta(seconds=15)
# A worker silent this long was killed, its machine died or it is stuck: six
# beats missed. /healthz then fails, and its running tasks are failed.
DEAD_AFTER = datetime.timedelta(seconds=90)
# Dead workers' rows are kept this long after their tasks were settled.
FORGET_DEAD_AFTER = datetime.timedelta(days=1)


class HeartbeatQuerySet(models.QuerySet):
    def beat(self, worker_id, started_at, now=None):
        """Record that worker ``worker_id`` is alive (its first beat adds its row)."""
        self.update_or_create(
            worker_id=worker_id,
            defaults={"host": socket.gethostname()[:255], "pid": os.getpid(),
                      "started_at": started_at, "beat_at": now or timezone.now()},
        )

    def newest_beat(self):
        """When the most recent heartbeat was written (None: none ever seen)."""
        return self.order_by("-beat_at").values_list("beat_at", flat=True).first()

    def dead(self, now):
        """The workers silent for DEAD_AFTER."""
        return self.filter(beat_at__lt=now - DEAD_AFTER)

    def forget_dead(self, now):
        """Delete the rows of workers dead for FORGET_DEAD_AFTER."""
        self.filter(beat_at__lt=now - FORGET_DEAD_AFTER).delete()


def worker_down(newest_beat, now=None):
    """(True, the newest beat or None if none was ever seen) when no worker has
    beaten for DEAD_AFTER; (False, the newest beat) otherwise."""
    now = now or timezone.now()
    if newest_beat is None:
        return True, None
    return now - newest_beat > DEAD_AFTER, newest_beat


def worker_down_since(now=None):
    """worker_down, reading the newest heartbeat."""
    return worker_down(WorkerHeartbeat.objects.newest_beat(), now)


def dead_worker_ids(now):
    return set(WorkerHeartbeat.objects.dead(now).values_list("worker_id", flat=True))


class WorkerHeartbeat(models.Model):
    """A task worker's sign of life, written every few seconds (manage.py worker)."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = HeartbeatQuerySet.as_manager()

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self):
        return f"{self.worker_id} ({self.beat_at:%H:%M:%S})"

