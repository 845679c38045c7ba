"""What the tables announce after a change, for the rules kept elsewhere.

An opportunity's save and a new payment send these signals inside their
transaction; the subscribers (connected in crm/subscribers.py: the
dashboard's rollups, the WhatsApp notifications, the stage history) run in
it too, so a rolled-back change takes their writes with it. Receivers are
called in the order they were connected.
"""

from dataclasses import dataclass

from django.dispatch import Signal

# Sent by Opportunity.save() with: opportunity, before (Snapshot or None for a
# new one), after (Snapshot, as now stored), stage_changed, fulfilment_changed,
# from_stage (the stage as loaded, "" for none), changed_by, using.
opportunity_saved = Signal()
# Sent by Payment.save() when a payment is added, with: payment.
payment_recorded = Signal()


@dataclass(frozen=True)
class Snapshot:
    """The fields of an opportunity that its rollup contribution depends on."""

    created_at: object
    closed_at: object
    owner_id: int | None
    stage: str
    status: str
    lost_reason: str
    amount: int

    fulfilment_status: str = ""
    payment_status: str = ""
    payment_due_date: object = None
    amount_paid: int = 0

    FIELDS = (
        "created_at", "closed_at", "owner_id", "stage", "status", "lost_reason", "amount",
        "fulfilment_status", "payment_status", "payment_due_date", "amount_paid",
    )

    @classmethod
    def of(cls, opportunity):
        return cls(*(getattr(opportunity, name) for name in cls.FIELDS))

    @classmethod
    def in_database(cls, model, pk, using):
        """The stored values of opportunity ``pk`` (of ``model``, the opportunity
        table: passed in, as this module sits below it), locked until the
        transaction ends."""
        row = (
            model.objects.using(using)
            .select_for_update()
            .filter(pk=pk)
            .values_list(*cls.FIELDS)
            .first()
        )
        return None if row is None else cls(*row)
