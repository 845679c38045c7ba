"""The pipeline board: one column of cards per stage, and moving a card.

Moving a card goes through Opportunity.move_to_stage, the same rules as the
admin form: a lost deal needs a reason, a won one gets its closed_at, and the
change is recorded with who made it.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Count, Sum, prefetch_related_objects
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from crm.formatting import STAGE_COLOURS
from crm.models import CreatedDay, Stage, Status

# Newest cards shown per column; the rest are one "show more" link away.
CARDS_PER_COLUMN = 20


@dataclass
class Card:
    opportunity: object
    days_in_stage: int
    # Its next step's date has passed (open deals only).
    follow_up_overdue: bool = False


@dataclass
class Column:
    stage: str
    label: str
    cards: list
    has_more: bool
    # Every opportunity of the stage (not only the cards shown) and their amount.
    count: int = 0
    total: int = 0

    @property
    def colour(self):
        return STAGE_COLOURS[self.stage]

    @cached_property
    def stage_options(self):
        """The move form's <option>s, this column's stage selected: the same for
        each of its cards, so built once rather than by the template per card."""
        return format_html_join(
            "", '<option value="{}"{}>{}</option>',
            ((stage, mark_safe(" selected") if stage == self.stage else "", label)
             for stage, label in Stage.choices),
        )


def board_columns(opportunities, per_column=None, now=None, totals=None):
    """A column per stage with its newest ``per_column`` (CARDS_PER_COLUMN) cards.

    Each column reads the newest rows of its stage from the (stage,
    stage_changed_at) index; then one query each for the cards' customers
    and owners; the columns' counts and totals in one GROUP BY query, unless
    ``totals`` (column_totals' shape) come from the rollups.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    per_column = per_column or CARDS_PER_COLUMN
    rows_by_stage = _newest_rows_per_stage(opportunities, per_column + 1)
    if totals is None:
        totals = column_totals(opportunities)
    columns, shown = [], []
    for stage, label in Stage.choices:
        rows = rows_by_stage.get(stage, [])
        cards = rows[:per_column]
        shown.extend(cards)
        columns.append(
            Column(
                stage=stage,
                label=label,
                cards=[
                    Card(o, (now - o.stage_changed_at).days, _overdue(o, today)) for o in cards
                ],
                has_more=len(rows) > per_column,
                count=totals.get(stage, (0, 0))[0],
                total=totals.get(stage, (0, 0))[1],
            )
        )
    prefetch_related_objects(shown, "customer", "owner")
    return columns


def column_totals(opportunities):
    """{stage: (number of opportunities, their total amount)}, in one query."""
    rows = (
        opportunities.order_by()
        .values("stage")
        .annotate(count=Count("pk"), total=Sum("amount", default=0))
    )
    return {row["stage"]: (row["count"], row["total"] or 0) for row in rows}


def rollup_column_totals(owner_id=None):
    """column_totals of every opportunity (or ``owner_id``'s) from the daily
    rollups, which count each deal once under its current stage: a few
    thousand rows. The GROUP BY over the deals themselves read all 3,000,000
    on the benchmark data (50 s for the board)."""
    rows = CreatedDay.objects.all()
    if owner_id is not None:
        rows = rows.filter(owner_key=owner_id)
    rows = rows.order_by().values("stage").annotate(count=Sum("count"), total=Sum("amount"))
    return {row["stage"]: (row["count"] or 0, row["total"] or 0) for row in rows}


def _overdue(opportunity, today):
    return (
        opportunity.status == Status.OPEN
        and opportunity.next_step_date is not None
        and opportunity.next_step_date < today
    )


def _newest_rows_per_stage(opportunities, count):
    """{stage: its newest ``count`` opportunities}, in one UNION ALL query where
    the database allows a LIMIT in each part (MySQL, MariaDB, PostgreSQL),
    else one query per stage (SQLite)."""
    parts = [
        opportunities.filter(stage=stage).order_by("-stage_changed_at", "-pk")[:count]
        for stage in Stage.values
    ]
    if connections[opportunities.db].features.supports_slicing_ordering_in_compound:
        rows = list(parts[0].union(*parts[1:], all=True))
    else:
        rows = [row for part in parts for row in part]
    by_stage = {}
    for row in rows:
        by_stage.setdefault(row.stage, []).append(row)
    for stage_rows in by_stage.values():
        # UNION ALL promises no order across or within its parts.
        stage_rows.sort(key=lambda o: (o.stage_changed_at, o.pk), reverse=True)
    return by_stage


def move_opportunity(opportunity, stage, *, by, lost_reason=""):
    """Move ``opportunity`` to ``stage``; ValidationError if the move breaks a rule."""
    if stage not in Stage.values:
        raise ValidationError(_("Unknown stage: %(stage)s") % {"stage": stage})
    if stage == opportunity.stage:
        return
    opportunity.move_to_stage(stage, by=by, lost_reason=lost_reason.strip())
