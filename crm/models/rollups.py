"""Daily rollups of the pipeline, which the dashboard reads instead of every
opportunity: their tables, and the rules that keep them.

Each opportunity contributes to one ``CreatedDay`` row (the local day it was
created, its owner, its current stage) and, once closed, to one
``ClosedDay`` row (the local day it closed, its owner, won or lost and why).
A change applies the difference between the opportunity's old and new
contribution as increments (``INSERT ... ON DUPLICATE KEY UPDATE count =
count + ...``), inside the transaction of the change. Increments add up
whatever order concurrent writers on several machines commit in, and a
rolled-back change takes its increments with it.

What keeps them in step:

* ``Opportunity.save()`` announces its change (crm/models/events.py) and
  ``record_change`` applies it (the old values are read with ``SELECT ...
  FOR UPDATE``, so two saves of one row cannot both subtract the same old
  values); a payment's ``update_payment_status`` calls it directly;
* deleting opportunities, one or a queryset, reaches ``record_deleted``
  through the ``pre_delete`` signal (crm/subscribers.py);
* deleting a user (whose opportunities the database then sets to no owner)
  moves the user's rollups to "no owner" (``move_to_no_owner``, the same way);
* code that writes opportunities without ``save()`` calls ``record_new``
  (bulk inserts: the ``seed`` command) or ``rebuild`` (fixtures and bulk
  ``UPDATE``\\s: ``load_demo``).

``manage.py rollups --check`` compares them with the live figures and
``--rebuild`` recomputes them from the opportunities.
"""

import datetime
import itertools

from django.db import connections, models, router, transaction
from django.utils import timezone

from crm.models.choices import Stage, Status
from crm.models.events import Snapshot
from crm.models.opportunities import Opportunity

# How many rollup rows one INSERT statement carries.
UPSERT_BATCH = 500
# How many opportunities a rebuild reads at a time (bounded memory).
REBUILD_CHUNK = 20_000
NO_OWNER = 0


# --- Dashboard rollups --------------------------------------------------------
# Running totals of opportunities per local day, kept by the functions below in
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
    what the dashboard's receivables read (kept below)."""

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


# The rollup tables, their key fields and their summed fields.
LAYOUT = {
    "created": (("day", "owner_key", "stage"), ("count", "amount")),
    "closed": (
        ("day", "owner_key", "status", "lost_reason"),
        ("count", "amount", "seconds_to_close"),
    ),
    # Won opportunities as orders: what is still to collect and by when.
    "orders": (
        ("due_date", "owner_key", "fulfilment_status", "payment_status"),
        ("count", "amount", "amount_paid"),
    ),
}
MODELS = {"created": CreatedDay, "closed": ClosedDay, "orders": OrderTotal}
# An order without a due date is filed under a day that never comes (a NULL
# in the unique key would not collide, and each change would add a row).
NO_DUE_DATE = datetime.date(9999, 12, 31)


def contributions(snapshot):
    """The rollup rows ``snapshot`` adds to, as (table, key, values)."""
    owner_key = snapshot.owner_id or NO_OWNER
    amount = snapshot.amount or 0
    yield (
        "created",
        (timezone.localdate(snapshot.created_at), owner_key, snapshot.stage),
        (1, amount),
    )
    if snapshot.status != Status.OPEN and snapshot.closed_at is not None:
        reason = snapshot.lost_reason if snapshot.status == Status.LOST else ""
        seconds = round((snapshot.closed_at - snapshot.created_at).total_seconds())
        yield (
            "closed",
            (timezone.localdate(snapshot.closed_at), owner_key, snapshot.status, reason),
            (1, amount, seconds),
        )
    if snapshot.status == Status.WON:
        yield (
            "orders",
            (snapshot.payment_due_date or NO_DUE_DATE, owner_key, snapshot.fulfilment_status,
             snapshot.payment_status),
            (1, amount, snapshot.amount_paid or 0),
        )


class Changes:
    """Increments to rollup rows, summed before they are written."""

    def __init__(self):
        self.rows = {}

    def add(self, snapshot, sign=1):
        if snapshot is None:
            return
        for table, key, values in contributions(snapshot):
            self.add_row(table, key, values, sign)

    def add_row(self, table, key, values, sign=1):
        current = self.rows.get((table, key)) or (0,) * len(values)
        self.rows[(table, key)] = tuple(a + sign * b for a, b in zip(current, values, strict=True))

    def write(self, using, models=None):
        """Apply the increments, in key order (so concurrent writers lock alike).

        ``models``: the rollup models by table name (a migration passes its
        historical ones).
        """
        models = models or MODELS
        nonzero = sorted(
            (table, key, values) for (table, key), values in self.rows.items() if any(values)
        )
        for table, rows in itertools.groupby(nonzero, key=lambda row: row[0]):
            rows = [(key, values) for _table, key, values in rows]
            for start in range(0, len(rows), UPSERT_BATCH):
                _increment(models[table], LAYOUT[table], rows[start:start + UPSERT_BATCH], using)
        self.rows.clear()


def _increment(model, layout, rows, using):
    """Add ``rows`` [(key, values)] to ``model``'s table, creating missing rows."""
    connection = connections[using]
    quote = connection.ops.quote_name
    key_fields, value_fields = layout
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(name) for name in (*key_fields, *value_fields))
    row_sql = "(" + ", ".join(["%s"] * (len(key_fields) + len(value_fields))) + ")"
    params = []
    for (day, *key_rest), values in rows:
        params.extend([connection.ops.adapt_datefield_value(day), *key_rest, *values])
    if connection.vendor == "mysql":
        updates = ", ".join(f"{quote(f)} = {quote(f)} + VALUES({quote(f)})" for f in value_fields)
        conflict = f"ON DUPLICATE KEY UPDATE {updates}"
    else:  # SQLite and PostgreSQL
        updates = ", ".join(f"{quote(f)} = {table}.{quote(f)} + excluded.{quote(f)}"
                            for f in value_fields)
        keys = ", ".join(quote(f) for f in key_fields)
        conflict = f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(rows))} {conflict}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def record_change(before, after, using):
    """Move an opportunity's contribution from ``before`` to ``after`` (either None)."""
    if before == after:
        return
    changes = Changes()
    changes.add(before, -1)
    changes.add(after, +1)
    changes.write(using)


def record_new(opportunities, using="default"):
    """Add saved opportunities that were inserted without ``save()`` (bulk_create)."""
    changes = Changes()
    for opportunity in opportunities:
        changes.add(Snapshot.of(opportunity))
    changes.write(using)


def rebuild(using="default", opportunity_model=Opportunity, models=None):
    """Recompute every rollup from the opportunities (a migration passes its
    historical models).

    For after a bulk load or a restore. Run it while nothing else writes
    opportunities: a change committed during the rebuild can be missed.
    """
    models = models or MODELS
    with transaction.atomic(using=using):
        for model in models.values():
            model.objects.using(using).delete()
        _live_changes(using, opportunity_model).write(using, models)


def _live_changes(using, opportunity_model=Opportunity):
    """Every opportunity's contribution, read a chunk of rows at a time."""
    changes = Changes()
    opportunities = opportunity_model.objects.using(using).order_by("pk")
    last_pk = 0
    while chunk := list(
        opportunities.filter(pk__gt=last_pk).values_list("pk", *Snapshot.FIELDS)[:REBUILD_CHUNK]
    ):
        for _pk, *fields in chunk:
            changes.add(Snapshot(*fields))
        last_pk = chunk[-1][0]
    return changes


def differences(using="default"):
    """Rollup rows that disagree with the live opportunities: [(table, key, stored, live)]."""
    live = _live_changes(using)
    stored = {}
    for table, (key_fields, value_fields) in LAYOUT.items():
        rows = MODELS[table].objects.using(using).values_list(*key_fields, *value_fields)
        for row in rows:
            stored[(table, tuple(row[: len(key_fields)]))] = tuple(row[len(key_fields):])
    found = []
    for table, key in sorted({*stored, *live.rows}):
        zeros = (0,) * len(LAYOUT[table][1])
        ours = stored.get((table, key)) or zeros
        theirs = live.rows.get((table, key)) or zeros
        if ours != theirs:
            found.append((table, key, ours, theirs))
    return found


def record_deleted(pk, using):
    """Take out opportunity ``pk``, about to be deleted, from the rollups."""
    record_change(Snapshot.in_database(Opportunity, pk, using), None, using)


def move_to_no_owner(user_pk, using):
    """The database will set the user's opportunities to no owner: so do the rollups."""
    if not router.allow_migrate_model(using, Opportunity):
        return
    changes = Changes()
    for table, (key_fields, value_fields) in LAYOUT.items():
        rows = MODELS[table].objects.using(using).select_for_update().filter(owner_key=user_pk)
        for row in rows.values_list(*key_fields, *value_fields):
            day, _owner, *rest = row[: len(key_fields)]
            changes.add_row(table, (day, NO_OWNER, *rest), row[len(key_fields):])
        rows.delete()
    changes.write(using)
