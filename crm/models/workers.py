"""The task workers' heartbeats, and when a silent worker counts as dead.

The one set of thresholds: the worker command, the WhatsApp sender and
/healthz all judge by these.
"""

import datetime

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


class WorkerHeartbeat(models.Model):
    """A task worker's sign of life, written every few seconds (manage.py worker)."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self):
        return f"{self.worker_id} ({self.beat_at:%H:%M:%S})"

