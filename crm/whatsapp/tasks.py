"""Background sending, through the Django tasks API (run by ``manage.py db_worker``).

Defines the sending task and how it is started and scheduled; the modules
beneath it start sending through crm/whatsapp/wake.py, registered here.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import default_task_backend, task

from crm.whatsapp import sender, wake
from crm.whatsapp.state import locked_state


@task()
def send_whatsapp_messages():
    """Send what is due; schedule the next run for what has to wait."""
    wake_at = sender.send_due_messages()
    if wake_at is not None:
        schedule_sending(wake_at)


def start_sending():
    """Start sending now, with WHATSAPP_SENDERS tasks side by side."""
    for _sender in range(max(1, settings.WHATSAPP_SENDERS)):
        send_whatsapp_messages.enqueue()


wake.register(start_sending)


def schedule_sending(when):
    """Make sure a sending task runs at ``when``, without piling up duplicates."""
    if not default_task_backend.supports_defer:
        return  # the immediate backend (tests) runs everything at once
    now = timezone.now()
    with transaction.atomic():
        state = locked_state()
        if state.wake_at is not None and now < state.wake_at <= when:
            return  # a task wakes earlier than that already
        state.wake_at = when
        state.save(update_fields=["wake_at"])
        send_whatsapp_messages.using(run_after=when).enqueue()
