"""Starting the senders, for the modules beneath the sending task.

crm/whatsapp/tasks.py runs the sender, so the sender and the pauses it
uses cannot import it without a circle. They ask here to start sending,
and tasks.py, once imported, says how: by enqueueing its task. Every
process imports it at start (crm.apps -> crm.subscribers -> notifications
-> outbox -> tasks); if none did, starting fails loudly, not silently.
"""

from django.db import transaction

_starter = []  # tasks.start_sending, once registered


def register(start_sending):
    """Make ``start_sending`` the way sending is started."""
    _starter[:] = [start_sending]


def start_sending_after_commit():
    """Start sending once the current transaction commits (at once outside one)."""
    transaction.on_commit(_start_sending)


def _start_sending():
    if not _starter:
        raise RuntimeError("Nothing starts WhatsApp sending: import crm.whatsapp.tasks.")
    _starter[0]()
