"""Who follows the tables' changes (crm/models/events.py and Django's delete
signal), connected once by CrmConfig.ready().

A saved opportunity moves its share of the dashboard's rollups, then may
queue WhatsApp notifications, then writes its stage history: in this order,
inside the save's transaction (a signal calls its receivers in the order
they were connected, and an exception rolls the save back).
"""

from django.conf import settings
from django.db.models.signals import pre_delete

from crm.models import Opportunity, StageChange, rollups
from crm.models.events import opportunity_saved, payment_recorded
from crm.whatsapp import notifications


def _count_in_rollups(sender, before, after, using, **kwargs):
    rollups.record_change(before, after, using)


def _notify_on_whatsapp(sender, opportunity, stage_changed, fulfilment_changed, **kwargs):
    notifications.opportunity_saved(
        opportunity, stage_changed=stage_changed, fulfilment_changed=fulfilment_changed
    )


def _write_stage_history(sender, opportunity, stage_changed, from_stage, changed_by, **kwargs):
    if stage_changed:
        StageChange.objects.create(
            opportunity=opportunity,
            from_stage=from_stage,
            to_stage=opportunity.stage,
            changed_at=opportunity.stage_changed_at,
            changed_by=changed_by,
        )


def _send_receipt(sender, payment, **kwargs):
    notifications.payment_recorded(payment)


def _opportunity_deleted(sender, instance, using, **kwargs):
    rollups.record_deleted(instance.pk, using)


def _owner_deleted(sender, instance, using, **kwargs):
    rollups.move_to_no_owner(instance.pk, using)


def connect():
    opportunity_saved.connect(_count_in_rollups, dispatch_uid="crm.rollups.opportunity_saved")
    opportunity_saved.connect(_notify_on_whatsapp, dispatch_uid="crm.whatsapp.opportunity_saved")
    opportunity_saved.connect(_write_stage_history, dispatch_uid="crm.stage_history")
    payment_recorded.connect(_send_receipt, dispatch_uid="crm.whatsapp.payment_recorded")
    pre_delete.connect(
        _opportunity_deleted, sender=Opportunity, dispatch_uid="crm.rollups.opportunity_deleted"
    )
    pre_delete.connect(
        _owner_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid="crm.rollups.owner_deleted"
    )
