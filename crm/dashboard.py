"""The dashboard's figures: read-only aggregate queries returning plain data.

Definitions (also in README.md and on the dashboard's tooltips):

* **Closing rate** of a period = opportunities won ÷ opportunities created in
  the period (every opportunity is a prospect contacted), as a percentage.
  It follows the period's cohort: a deal created in March and won in May
  counts for March.
* **Win rate** of a period = won ÷ (won + lost) among the opportunities
  *closed* in the period.

Every figure is computed by the database; Python only adds up the few rows
of the GROUP BY results (one per owner and stage). Five queries in all,
whatever the number of opportunities. The whole pipeline's figures read the
daily rollups (crm/models/rollups.py), which tests hold equal to the live figures;
a subset's figures (one salesperson's) are computed from the opportunities.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import (
    ClosedDay,
    CreatedDay,
    Fulfilment,
    OrderTotal,
    PaymentStatus,
    Stage,
    Status,
)
from crm.models.orders import receivables

PERIODS = {
    "this_month": _("This month"),
    "last_30_days": _("Last 30 days"),
    "last_90_days": _("Last 90 days"),
    "this_year": _("This year"),
    "all_time": _("All time"),
}
# A rolling period: "this month" would show nothing but dashes on the 1st.
DEFAULT_PERIOD = "last_30_days"
TREND_MONTHS = 12
TOP_LOST_REASONS = 5


@dataclass(frozen=True)
class Period:
    """A named time range from ``start`` (None: all time) up to now."""

    key: str
    start: datetime.datetime | None
    # Every period runs to the present, so it has no upper bound.
    end = None

    @property
    def label(self):
        return PERIODS[self.key]


def period_named(key, now=None):
    """The period called ``key`` (one of PERIODS) as of ``now``, in local time."""
    if key not in PERIODS:
        raise ValueError(f"Unknown period {key!r}")
    now = timezone.localtime(now)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = {
        "this_month": today.replace(day=1),
        "last_30_days": today - datetime.timedelta(days=29),
        "last_90_days": today - datetime.timedelta(days=89),
        "this_year": today.replace(month=1, day=1),
        "all_time": None,
    }
    return Period(key, starts[key])


def percentage(part, whole):
    """``part`` as a percentage of ``whole``; None when there is nothing to divide."""
    return None if not whole else 100 * part / whole


@dataclass
class StageFigures:
    stage: str
    label: str
    count: int = 0
    amount: int = 0


@dataclass
class Figures:
    """The headline figures, for everyone or for one owner."""

    created: int = 0
    created_won: int = 0
    open_value: int = 0
    closed_won: int = 0
    closed_lost: int = 0
    won_value: int = 0
    _won_days_total: float = 0.0

    @property
    def closing_rate(self):
        return percentage(self.created_won, self.created)

    @property
    def win_rate(self):
        return percentage(self.closed_won, self.closed_won + self.closed_lost)

    @property
    def average_days_to_win(self):
        return self._won_days_total / self.closed_won if self.closed_won else None


@dataclass
class OwnerFigures(Figures):
    owner_id: int | None = None
    name: str = ""


@dataclass
class MonthFigures:
    start: datetime.datetime
    end: datetime.datetime
    created: int
    won: int

    @property
    def closing_rate(self):
        return percentage(self.won, self.created)

    # The trend chart's bar, in a 100-unit-high drawing (presentation only).
    @property
    def bar_height(self):
        return round(self.closing_rate or 0)

    @property
    def bar_top(self):
        return 100 - self.bar_height


@dataclass
class Dashboard:
    period: Period
    totals: Figures
    stages: list[StageFigures]
    owners: list[OwnerFigures]
    lost_reasons: list[tuple[str, int]]
    months: list[MonthFigures] = field(default_factory=list)
    # outstanding (Rp), in_progress and overdue (counts), today
    orders: dict = field(default_factory=dict)

    @property
    def max_stage_count(self):
        """The largest stage count: the full width of the stage bars."""
        return max((stage.count for stage in self.stages), default=0)


def _in_range(field_name, period, as_date=False):
    condition = Q()
    for lookup, bound in (("gte", period.start), ("lt", period.end)):
        if bound is not None:
            condition &= Q(**{f"{field_name}__{lookup}": bound.date() if as_date else bound})
    return condition


class RollupFigures:
    """The figures of every opportunity, or of one owner's, read from the
    daily rollups (crm/models/rollups.py), which are kept per owner: a few thousand
    rows whatever the number of deals."""

    def __init__(self, owner_id=None):
        self.owner = Q() if owner_id is None else Q(owner_key=owner_id)

    def created(self, period):
        """Opportunities created in the period: rows of owner_id, stage, count, amount."""
        rows = (
            CreatedDay.objects.filter(self.owner, _in_range("day", period, as_date=True))
            .values("owner_key", "stage")
            .annotate(count=Sum("count"), amount=Sum("amount"))
            .order_by()
        )
        return [{**row, "owner_id": row["owner_key"] or None} for row in rows]

    def closed(self, period):
        """Closed in the period: rows of owner_id, status, lost_reason, count, amount,
        seconds (to close)."""
        rows = (
            ClosedDay.objects.filter(self.owner, _in_range("day", period, as_date=True))
            .values("owner_key", "status", "lost_reason")
            .annotate(
                count=Sum("count"), amount=Sum("amount"), seconds=Sum("seconds_to_close")
            )
            .order_by()
        )
        return [{**row, "owner_id": row["owner_key"] or None} for row in rows]

    def receivables(self):
        """Orders' figures from their rollup: a row per due date, owner and status."""
        today = timezone.localdate()
        unpaid = ~Q(payment_status=PaymentStatus.PAID)
        figures = OrderTotal.objects.filter(self.owner).aggregate(
            outstanding=Sum("amount", filter=unpaid, default=0)
            - Sum("amount_paid", filter=unpaid, default=0),
            in_progress=Sum("count", filter=Q(fulfilment_status=Fulfilment.IN_PROGRESS),
                            default=0),
            overdue=Sum("count", filter=unpaid & Q(due_date__lt=today), default=0),
        )
        return {**figures, "today": today}

    def created_by_month(self, bounds):
        """Rows of month (index into bounds), stage, count."""
        month_of_row = Case(
            *[When(day__lt=end.date(), then=Value(i)) for i, end in enumerate(bounds[1:])],
            output_field=IntegerField(),
        )
        return (
            CreatedDay.objects.filter(
                self.owner, day__gte=bounds[0].date(), day__lt=bounds[-1].date()
            )
            .annotate(month=month_of_row)
            .values("month", "stage")
            .annotate(count=Sum("count"))
            .order_by()
        )


class LiveFigures:
    """The figures of some opportunities (e.g. one salesperson's), computed
    from the opportunities themselves, each query reading the period's date
    range of a covering index (see the indexes declared on Opportunity)."""

    def __init__(self, opportunities):
        self.opportunities = opportunities.order_by()

    def created(self, period):
        return (
            self.opportunities.filter(_in_range("created_at", period))
            .values("owner_id", "stage")
            .annotate(count=Count("pk"), amount=Sum("amount"))
        )

    def closed(self, period):
        time_to_close = ExpressionWrapper(
            F("closed_at") - F("created_at"), output_field=DurationField()
        )
        rows = (
            self.opportunities.filter(_in_range("closed_at", period), closed_at__isnull=False)
            .values("owner_id", "status", "lost_reason")
            .annotate(count=Count("pk"), amount=Sum("amount"), time_to_close=Sum(time_to_close))
        )
        return [
            {**row, "seconds": row["time_to_close"].total_seconds() if row["time_to_close"] else 0}
            for row in rows
        ]

    def receivables(self):
        return receivables(self.opportunities)

    def created_by_month(self, bounds):
        """Each row put in its month by one CASE over the month boundaries
        (computed in local time): no database time-zone function is needed
        (MySQL would need its time-zone tables for one)."""
        month_of_row = Case(
            *[When(created_at__lt=end, then=Value(i)) for i, end in enumerate(bounds[1:])],
            output_field=IntegerField(),
        )
        return (
            self.opportunities.filter(created_at__gte=bounds[0], created_at__lt=bounds[-1])
            .annotate(month=month_of_row)
            .values("month", "stage")
            .annotate(count=Count("pk"))
        )


def build_dashboard(period, opportunities=None, owner_id=None):
    """All dashboard figures for ``period``: of every opportunity, or of
    those of ``owner_id`` (a salesperson's), from the rollups; or of
    ``opportunities`` (computed live: what tests compare the rollups with)."""
    if opportunities is not None:
        source = LiveFigures(opportunities)
    else:
        source = RollupFigures(owner_id)
    totals = Figures()
    stages = {stage: StageFigures(stage, label) for stage, label in Stage.choices}
    owners = {}

    def owner(owner_id):
        return owners.setdefault(owner_id, OwnerFigures(owner_id=owner_id))

    # 1. The period's cohort: opportunities created in it, by owner and stage.
    for row in source.created(period):
        stages[row["stage"]].count += row["count"]
        stages[row["stage"]].amount += row["amount"] or 0
        for figures in (totals, owner(row["owner_id"])):
            figures.created += row["count"]
            if row["stage"] == Stage.WON:
                figures.created_won += row["count"]
            elif row["stage"] != Stage.LOST:
                figures.open_value += row["amount"] or 0

    # 2. Opportunities closed in the period, by owner, outcome and lost reason.
    lost_counts = {}
    for row in source.closed(period):
        if row["status"] == Status.LOST and row["count"]:
            reason = row["lost_reason"]
            lost_counts[reason] = lost_counts.get(reason, 0) + row["count"]
        for figures in (totals, owner(row["owner_id"])):
            if row["status"] == Status.WON:
                figures.closed_won += row["count"]
                figures.won_value += row["amount"] or 0
                figures._won_days_total += (row["seconds"] or 0) / 86400
            else:
                figures.closed_lost += row["count"]

    # Why deals were lost in the period: the most frequent first.
    lost_reasons = sorted(lost_counts.items(), key=lambda item: (-item[1], item[0]))
    lost_reasons = lost_reasons[:TOP_LOST_REASONS]

    # 3. Orders: money still to collect, orders being made, payments overdue.
    orders = source.receivables()

    # 4. Owners' names, for the owners that appear above.
    names = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in=[pk for pk in owners if pk])
    }
    for owner_id, figures in owners.items():
        figures.name = names.get(owner_id, "")

    # Owners with nothing in the period (rollup rows that went back to zero).
    owners = {k: o for k, o in owners.items() if o.created or o.closed_won or o.closed_lost}
    return Dashboard(
        period=period,
        totals=totals,
        stages=list(stages.values()),
        owners=sorted(owners.values(), key=lambda o: (-o.created, o.name)),
        lost_reasons=lost_reasons,
        months=monthly_closing_rates(source, timezone.now()),
        orders=orders,
    )


def month_starts(now, months=TREND_MONTHS):
    """The local starts of the last ``months`` months, oldest first, and the next one."""
    now = timezone.localtime(now)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = [first]
    for _month in range(months - 1):
        starts.insert(0, (starts[0] - datetime.timedelta(days=1)).replace(day=1))
    # The next month's start ends the current month.
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return [*starts, following]


def monthly_closing_rates(source, now):
    """Created and won counts for each of the last 12 months, in one query."""
    bounds = month_starts(now)
    counts = {}
    for row in source.created_by_month(bounds):
        created, won = counts.get(row["month"], (0, 0))
        won += row["count"] if row["stage"] == Stage.WON else 0
        counts[row["month"]] = (created + row["count"], won)
    return [
        MonthFigures(start, end, *counts.get(i, (0, 0)))
        for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]
