"""The dashboard's rollup tables."""

from django.db import models

from crm.models.opportunities import Stage, Status

# --- Dashboard rollups --------------------------------------------------------
# Running totals of opportunities per local day, kept by crm/rollups.py in
# the same transaction as every change, so the dashboard reads a few thousand
# rollup rows instead of millions of opportunities. ``owner_key`` is the
# owner's user id, 0 for none: a NULL would not collide in the unique key.


class CreatedDay(models.Model):
    """Opportunities created on a local day, by owner and current stage."""

    day = models.DateField()
    owner_key = models.PositiveIntegerField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index every dashboard query reads: a period is a day range.
            models.UniqueConstraint(
                fields=["day", "owner_key", "stage"], name="createdday_key"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.owner_key} {self.stage}: {self.count}"


class ClosedDay(models.Model):
    """Opportunities closed on a local day, by owner, outcome and lost reason."""

    day = models.DateField()
    owner_key = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    lost_reason = models.CharField(max_length=200, blank=True)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    # Sum of (closed_at - created_at), for the average days to win.
    seconds_to_close = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "owner_key", "status", "lost_reason"], name="closedday_key"
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.owner_key} {self.status}: {self.count}"


class OrderTotal(models.Model):
    """Won opportunities (orders) by due date, owner, order and payment status:
    what the dashboard's receivables read (crm/rollups.py keeps them)."""

    due_date = models.DateField()  # 9999-12-31: no due date
    owner_key = models.PositiveIntegerField()
    fulfilment_status = models.CharField(max_length=12)
    payment_status = models.CharField(max_length=12)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["due_date", "owner_key", "fulfilment_status", "payment_status"],
                name="ordertotal_key",
            ),
        ]

    def __str__(self):
        return f"{self.due_date} {self.owner_key} {self.payment_status}: {self.count}"

