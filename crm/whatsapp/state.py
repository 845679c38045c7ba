"""The one SendingState row every worker shares: the pause, the limits'
counters, when a sender last showed itself, and when a task wakes next.
Made on first use."""

from crm.models import SendingState


def sending_state():
    """The row, as it is now (no lock)."""
    return SendingState.objects.get_or_create(pk=1)[0]


def locked_state():
    """The row, locked until the transaction ends: decisions on it hold for
    all workers together."""
    SendingState.objects.get_or_create(pk=1)
    return SendingState.objects.select_for_update().get(pk=1)
