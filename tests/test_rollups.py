"""The dashboard's daily rollups always equal the figures computed live."""

import datetime
import itertools
import random
import zoneinfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from crm.dashboard import PERIODS, build_dashboard, period_named
from crm.models import ClosedDay, CreatedDay, Opportunity, Stage, rollups

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


def assert_rollups_match():
    assert rollups.differences() == []
    owners = set(Opportunity.objects.values_list("owner_id", flat=True)) - {None}
    # Everyone's dashboard, and each salesperson's own (read from their
    # rows of the rollups).
    cases = [(None, Opportunity.objects.all())] + [
        (owner, Opportunity.objects.filter(owner_id=owner)) for owner in sorted(owners)
    ]
    for (owner, opportunities), key in itertools.product(cases, PERIODS):
        from_rollups = build_dashboard(period_named(key), owner_id=owner)
        live = build_dashboard(period_named(key), opportunities)
        assert from_rollups.orders == live.orders
        assert from_rollups.totals.closing_rate == live.totals.closing_rate
        assert from_rollups.totals.win_rate == live.totals.win_rate
        # Rollups keep whole seconds: a second is 0.00001 days.
        assert from_rollups.totals.average_days_to_win == pytest.approx(
            live.totals.average_days_to_win, abs=1e-4
        )
        assert from_rollups.stages == live.stages
        assert [(o.owner_id, o.created, o.created_won, o.closed_won, o.closed_lost,
                 o.won_value, o.open_value) for o in from_rollups.owners] == [
            (o.owner_id, o.created, o.created_won, o.closed_won, o.closed_lost,
             o.won_value, o.open_value) for o in live.owners]
        assert from_rollups.lost_reasons == live.lost_reasons
        assert from_rollups.months == live.months


def created_rows():
    return {(r.owner_key, r.stage): r.count for r in CreatedDay.objects.filter(count__gt=0)}


def test_a_new_opportunity_counts_on_the_local_day_it_was_created(make_opportunity):
    # 20:00 UTC on 1 November is 03:00 on 2 November in Blitar.
    created = datetime.datetime(2026, 11, 1, 20, 0, tzinfo=datetime.UTC)
    make_opportunity(amount=500_000, created_at=created)
    row = CreatedDay.objects.get()
    assert (row.day, row.owner_key, row.stage, row.count, row.amount) == (
        datetime.date(2026, 11, 2), 0, "prospect", 1, 500_000,
    )


def test_every_change_an_owner_makes_moves_the_rollups_with_it(
    make_opportunity, django_user_model
):
    sari = django_user_model.objects.create_user("sari")
    deal = make_opportunity(owner=sari, amount=1_000_000)
    assert created_rows() == {(sari.pk, "prospect"): 1}

    deal.move_to_stage(Stage.WON)
    assert created_rows() == {(sari.pk, "won"): 1}
    assert ClosedDay.objects.get(count=1).status == "won"
    assert_rollups_match()

    deal.move_to_stage(Stage.NEGOTIATION)  # reopened: no longer closed
    assert not ClosedDay.objects.filter(count__gt=0).exists()
    deal.move_to_stage(Stage.LOST, lost_reason="Harga terlalu mahal")
    assert ClosedDay.objects.get(count=1).lost_reason == "Harga terlalu mahal"
    assert_rollups_match()

    deal.owner, deal.amount = None, 2_500_000
    deal.save()
    assert created_rows() == {(0, "lost"): 1}
    assert_rollups_match()


def test_a_save_of_some_fields_counts_only_what_it_stored(make_opportunity):
    deal = make_opportunity(amount=1_000_000)
    deal.amount = 9_000_000  # changed in memory, not saved below
    deal.title = "Batik tulis"
    deal.save(update_fields=["title"])
    assert CreatedDay.objects.get().amount == 1_000_000
    deal.save(update_fields=["amount"])
    assert CreatedDay.objects.get().amount == 9_000_000
    assert_rollups_match()


def test_a_rolled_back_change_leaves_the_rollups_alone(make_opportunity):
    deal = make_opportunity()
    with pytest.raises(RuntimeError), transaction.atomic():
        deal.move_to_stage(Stage.WON)
        raise RuntimeError("the request failed after the save")
    assert created_rows() == {(0, "prospect"): 1}
    assert_rollups_match()


def test_deleting_one_or_many_opportunities(make_opportunity):
    deals = [make_opportunity(stage=stage) for stage in (Stage.PROSPECT, Stage.WON, Stage.WON)]
    deals[0].delete()
    assert created_rows() == {(0, "won"): 2}
    Opportunity.objects.filter(stage=Stage.WON).delete()
    assert created_rows() == {}
    assert_rollups_match()


def test_a_deleted_salesperson_s_deals_move_to_no_owner(make_opportunity, django_user_model):
    budi = django_user_model.objects.create_user("budi")
    make_opportunity(owner=budi, stage=Stage.WON)
    make_opportunity(owner=None, stage=Stage.WON)
    budi.delete()
    assert created_rows() == {(0, "won"): 2}
    assert_rollups_match()


def test_bulk_inserts_and_the_rebuild_agree(make_customer):
    customer = make_customer()
    opportunities = Opportunity.objects.bulk_create(
        Opportunity(customer=customer, title="Kripik", amount=100, stage=Stage.PROSPECT)
        for _ in range(3)
    )
    assert rollups.differences() != []  # bulk_create skips save()
    rollups.record_new(opportunities)
    assert_rollups_match()
    before = sorted(CreatedDay.objects.values_list("day", "owner_key", "stage", "count"))
    rollups.rebuild()
    assert sorted(CreatedDay.objects.values_list("day", "owner_key", "stage", "count")) == before


def test_the_seed_and_demo_commands_keep_the_rollups(db):
    call_command("load_demo", verbosity=0)
    assert_rollups_match()
    call_command("seed", customers=30, opportunities=120, verbosity=0)
    assert Opportunity.objects.count() > 120
    assert_rollups_match()


def test_the_check_command_finds_drift_and_the_rebuild_repairs_it(make_opportunity):
    make_opportunity(amount=1_000)
    call_command("rollups", "--check", verbosity=0)
    # A change behind the model's back (a raw UPDATE) is drift.
    Opportunity.objects.update(amount=2_000)
    with pytest.raises(CommandError, match="1 rollup rows disagree"):
        call_command("rollups", "--check", verbosity=0)
    call_command("rollups", "--rebuild", verbosity=0)
    call_command("rollups", "--check", verbosity=0)


def test_a_random_day_of_work_keeps_every_figure_equal(make_customer, django_user_model):
    """200 random edits, creations and deletions over the last two years."""
    rng = random.Random(20261129)
    owners = [None, *(django_user_model.objects.create_user(f"s{i}") for i in range(3))]
    customers = [make_customer() for _ in range(5)]
    now = datetime.datetime.now(JAKARTA)
    deals = []
    for _step in range(200):
        action = rng.random()
        if action < 0.35 or not deals:
            deals.append(Opportunity.objects.create(
                customer=rng.choice(customers), title="Batik", owner=rng.choice(owners),
                amount=rng.randrange(0, 5_000_000, 50_000),
                created_at=now - datetime.timedelta(days=rng.randrange(730), hours=rng.random()),
            ))
        elif action < 0.8:
            deal = rng.choice(deals)
            stage = rng.choice(Stage.values)
            deal.move_to_stage(stage, lost_reason=rng.choice(["Mahal", "Lambat", "Batal"]))
        elif action < 0.9:
            deal = rng.choice(deals)
            deal.owner, deal.amount = rng.choice(owners), rng.randrange(0, 9_000_000)
            deal.save()
        else:
            deals.pop(rng.randrange(len(deals))).delete()
    assert_rollups_match()
