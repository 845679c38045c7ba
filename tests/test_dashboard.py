import datetime
import zoneinfo

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.dashboard import build_dashboard, month_starts, period_named
from crm.models import Opportunity, Stage, rollups

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
# "Now" for every test: 20 November 2026, 10:00 in Blitar.
NOW = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=JAKARTA)


def at(month, day, hour=12, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=JAKARTA)


class Clock:
    """A settable timezone.now()."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(NOW)
    monkeypatch.setattr("django.utils.timezone.now", clock)
    return clock


@pytest.fixture
def now(clock):
    return NOW


@pytest.fixture
def deal(make_customer, clock):
    """Save an opportunity created (and closed) at the given moments, as a
    user would: created as a prospect, then moved to its stage (at ``closed``,
    or now)."""
    customer = make_customer()

    def make(stage, created, closed=None, amount=1_000_000, owner=None, reason=""):
        clock.now = created
        opportunity = Opportunity(
            customer=customer, title=f"{stage} {created:%d %b}", amount=amount,
            owner=owner, created_at=created,
        )
        opportunity.save()
        clock.now = closed or NOW
        opportunity.stage, opportunity.lost_reason = stage, reason
        opportunity.save()
        clock.now = NOW
        return opportunity

    return make


@pytest.fixture(params=["rollups", "live"])
def dashboard(request):
    """The dashboard of a period, from the rollups or computed live: every
    figure test runs on both, so the rollups are held to the live figures."""

    def build(key):
        everything = None if request.param == "rollups" else Opportunity.objects.all()
        return build_dashboard(period_named(key), everything)

    return build


@pytest.fixture
def november(deal, django_user_model):
    """8 opportunities created this month: 3 won, 2 lost, 3 open.

    Sari: 2 won, 1 lost, 2 open. Budi: 1 won, 1 lost, 1 open. Won deals took
    2, 6 and 1 days. One more, lost in October, belongs to no November figure.
    """
    sari = django_user_model.objects.create_user("sari", first_name="Sari")
    budi = django_user_model.objects.create_user("budi", first_name="Budi")
    deal(Stage.WON, at(11, 2), closed=at(11, 4), amount=1_000_000, owner=sari)
    deal(Stage.WON, at(11, 3), closed=at(11, 9), amount=2_000_000, owner=sari)
    deal(Stage.WON, at(11, 5), closed=at(11, 6), amount=3_000_000, owner=budi)
    deal(Stage.LOST, at(11, 6), closed=at(11, 8), amount=700_000, owner=sari, reason="Mahal")
    deal(Stage.LOST, at(11, 7), closed=at(11, 10), amount=700_000, owner=budi, reason="Mahal")
    deal(Stage.PROSPECT, at(11, 10), amount=500_000, owner=sari)
    deal(Stage.NEGOTIATION, at(11, 12), amount=500_000, owner=sari)
    deal(Stage.CONTACTED, at(11, 15), amount=500_000, owner=budi)
    deal(Stage.LOST, at(10, 1), closed=at(10, 20), amount=900_000, owner=budi, reason="Lambat")
    return sari, budi


def test_the_closing_rate_is_won_over_created_in_the_period(november, dashboard):
    totals = dashboard("this_month").totals
    assert (totals.created, totals.created_won) == (8, 3)
    assert totals.closing_rate == 37.5


def test_the_win_rate_is_won_over_won_and_lost_closed_in_the_period(november, dashboard):
    totals = dashboard("this_month").totals
    assert (totals.closed_won, totals.closed_lost) == (3, 2)
    assert totals.win_rate == 60


def test_money_and_time_figures(november, dashboard):
    totals = dashboard("this_month").totals
    assert totals.won_value == 6_000_000
    assert totals.open_value == 1_500_000
    assert totals.average_days_to_win == pytest.approx((2 + 6 + 1) / 3)


def test_count_and_amount_per_stage(november, dashboard):
    stages = {s.stage: (s.count, s.amount) for s in dashboard("this_month").stages}
    assert stages == {
        "prospect": (1, 500_000), "contacted": (1, 500_000), "proposal": (0, 0),
        "negotiation": (1, 500_000), "won": (3, 6_000_000), "lost": (2, 1_400_000),
    }


def test_the_top_lost_reasons_of_the_period(november, dashboard):
    assert dashboard("this_month").lost_reasons == [("Mahal", 2)]
    assert dashboard("all_time").lost_reasons == [
        ("Mahal", 2), ("Lambat", 1)
    ]


def test_the_figures_per_salesperson(november, dashboard):
    owners = {o.name: o for o in dashboard("this_month").owners}
    sari, budi = owners["Sari"], owners["Budi"]
    assert (sari.created, sari.created_won, sari.closing_rate) == (5, 2, 40)
    assert (budi.created, budi.created_won) == (3, 1)
    assert budi.closing_rate == pytest.approx(100 / 3)
    assert (sari.win_rate, budi.win_rate) == (pytest.approx(200 / 3), 50)
    assert (sari.won_value, budi.won_value) == (3_000_000, 3_000_000)
    assert (sari.open_value, budi.open_value) == (1_000_000, 500_000)
    assert sari.average_days_to_win == 4


def test_a_deal_counts_for_the_month_it_was_created_and_the_month_it_closed(
    deal, now, dashboard
):
    deal(Stage.WON, at(10, 25), closed=at(11, 2))
    this_month = dashboard("this_month").totals
    assert (this_month.created, this_month.closed_won) == (0, 1)
    assert this_month.closing_rate is None
    assert this_month.win_rate == 100
    all_time = dashboard("all_time").totals
    assert all_time.closing_rate == 100


def test_periods_start_at_local_midnight_in_jakarta(deal, now, dashboard):
    deal(Stage.PROSPECT, at(10, 31, 23, 30))  # 16:30 UTC, still October in Blitar
    deal(Stage.PROSPECT, at(11, 1, 0, 30))  # 17:30 UTC on 31 October, November here
    assert dashboard("this_month").totals.created == 1


@pytest.mark.parametrize(
    "key, start",
    [
        ("this_month", at(11, 1, 0)),
        ("last_30_days", at(10, 22, 0)),
        ("last_90_days", datetime.datetime(2026, 8, 23, tzinfo=JAKARTA)),
        ("this_year", datetime.datetime(2026, 1, 1, tzinfo=JAKARTA)),
        ("all_time", None),
    ],
)
def test_each_period_starts_where_its_name_says(now, key, start):
    assert period_named(key).start == start


def test_an_unknown_period_is_refused():
    with pytest.raises(ValueError):
        period_named("kemarin")


def test_the_monthly_trend_covers_the_last_twelve_months(november, dashboard):
    months = dashboard("this_month").months
    assert [m.start.date() for m in months][0] == datetime.date(2025, 12, 1)
    assert len(months) == 12
    assert (months[-1].created, months[-1].won, months[-1].closing_rate) == (8, 3, 37.5)
    assert (months[-2].created, months[-2].won, months[-2].closing_rate) == (1, 0, 0)
    assert months[0].closing_rate is None


def test_month_boundaries_cross_the_year(now):
    bounds = month_starts(NOW)
    assert bounds[0] == datetime.datetime(2025, 12, 1, tzinfo=JAKARTA)
    assert bounds[-1] == datetime.datetime(2026, 12, 1, tzinfo=JAKARTA)


def test_empty_data_gives_no_rates_rather_than_a_division_by_zero(db, now, dashboard):
    dashboard = dashboard("this_month")
    totals = dashboard.totals
    assert (totals.closing_rate, totals.win_rate, totals.average_days_to_win) == (None,) * 3
    assert dashboard.owners == [] and dashboard.lost_reasons == []


def test_a_salespersons_dashboard_page_counts_their_deals_from_the_rollups(
    november, client, make_staff
):
    from crm.roles import SALES

    sari, _budi = november
    sari.is_staff = True
    sari.save()
    sari.groups.add(Group.objects.get(name=SALES))
    client.force_login(sari)
    url = reverse("admin:index") + "?period=this_month"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    totals = response.context["dashboard"].totals
    assert (totals.created, totals.closing_rate) == (5, 40)
    assert totals.win_rate == pytest.approx(200 / 3)  # 2 won, 1 lost
    assert [o.owner_id for o in response.context["dashboard"].owners] == [sari.pk]
    # The rollups, not the opportunities: no query reads crm_opportunity.
    assert not [q for q in queries if "crm_opportunity" in q["sql"]]
    assert len(queries) <= 8


def test_the_dashboard_can_be_limited_to_some_opportunities(november):
    sari, _budi = november
    mine = build_dashboard(period_named("this_month"), Opportunity.objects.filter(owner=sari))
    assert (mine.totals.created, mine.totals.closing_rate) == (5, 40)


# The page


def test_the_admin_index_shows_the_figures_in_indonesian_format(admin_client, november):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-figure="closing-rate">37,5%</span>' in html
    assert 'data-figure="win-rate">60%</span>' in html
    assert 'data-figure="won-value">Rp 6.000.000</span>' in html
    assert "3,0 hari" in html


def test_the_formula_is_explained_on_the_figure(admin_client, november):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "Closing rate = peluang menang ÷ semua peluang" in html


def test_an_empty_dashboard_shows_a_dash(admin_client, now):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-figure="closing-rate">–</span>' in html


def test_the_period_switch_changes_the_figures(admin_client, november):
    html = admin_client.get(reverse("admin:index"), {"period": "all_time"}).content.decode()
    assert 'data-figure="closing-rate">33,3%</span>' in html  # 3 won of 9
    # An unknown period falls back to the default (the last 30 days: all of
    # November's deals here) instead of failing.
    html = admin_client.get(reverse("admin:index"), {"period": "x"}).content.decode()
    assert 'data-figure="closing-rate">37,5%</span>' in html


def test_each_figure_links_to_the_rows_behind_it(admin_client, november):
    context = admin_client.get(reverse("admin:index"), {"period": "this_month"}).context
    html = admin_client.get(reverse("admin:index"), {"period": "this_month"}).content.decode()
    base = reverse("admin:crm_opportunity_changelist")
    start = "2026-11-01T00%3A00%3A00%2B07%3A00"
    assert f'href="{base}?created_at__gte={start}"' in html
    assert f'href="{base}?stage__exact=won&amp;created_at__gte={start}"' in html
    assert context["dashboard"].totals.created == 8
    # Following the stage link lists exactly the won deals of the month.
    listed = admin_client.get(
        base, {"stage__exact": "won", "created_at__gte": "2026-11-01T00:00:00+07:00"}
    )
    assert len(listed.context["cl"].result_list) == 3


def test_users_who_cannot_see_opportunities_get_no_dashboard(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "dashboard" not in response.context


@pytest.mark.parametrize("period", ["this_month", "all_time"])
def test_the_dashboard_runs_the_same_few_queries_for_10_or_1000_opportunities(
    admin_client, make_customer, django_user_model, now, period
):
    customer = make_customer()
    owners = [django_user_model.objects.create_user(f"sales{i}") for i in range(3)]

    def add(count):
        rollups.record_new(Opportunity.objects.bulk_create(
            Opportunity(
                customer=customer, title="Batik", amount=100_000 + i,
                stage=Stage.values[i % 6], status=("won" if i % 6 == 4 else "lost" if i % 6 == 5
                                                   else "open"),
                lost_reason="Mahal" if i % 6 == 5 else "",
                closed_at=at(11, 3) if i % 6 >= 4 else None,
                created_at=at(11, 1 + i % 19), owner=owners[i % 3],
            )
            for i in range(count)
        ))

    def live_queries():
        with CaptureQueriesContext(connection) as queries:
            build_dashboard(period_named(period), Opportunity.objects.all())
        return len(queries)

    url = reverse("admin:index") + f"?period={period}"
    add(10)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    few_live = live_queries()
    add(990)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert response.context["dashboard"].totals.created == 1000
    # The WhatsApp alerts included (the sending state with the newest
    # worker heartbeat: one query).
    assert len(many) == len(few) <= 8
    assert live_queries() == few_live <= 5


def test_the_default_period_is_not_empty_on_the_first_of_a_month(
    admin_client, deal, clock
):
    # Deals of the last days of November; the dashboard opened on 1 December.
    deal(Stage.WON, at(11, 25), closed=at(11, 27))
    deal(Stage.PROSPECT, at(11, 28))
    clock.now = datetime.datetime(2026, 12, 1, 7, 30, tzinfo=JAKARTA)
    response = admin_client.get(reverse("admin:index"))
    dashboard = response.context["dashboard"]
    assert dashboard.period.key == "last_30_days"
    assert (dashboard.totals.created, dashboard.totals.created_won) == (2, 1)
    html = response.content.decode()
    assert 'data-figure="closing-rate">50%</span>' in html
    # "This month" on the 1st is still one tap away, and empty.
    this_month = admin_client.get(reverse("admin:index"), {"period": "this_month"})
    assert this_month.context["dashboard"].totals.created == 0


def test_each_figures_definition_opens_on_tap_and_its_number_opens_the_list(
    admin_client, november
):
    import re

    html = admin_client.get(reverse("admin:index"), {"period": "this_month"}).content.decode()
    card = re.search(r'data-figure-card="closing-rate".*?</div>\s*</div>\s*</div>', html, re.S)
    card = card.group()
    # A toggle button (not a hover-only title) for a definition in the page.
    assert re.search(r'<button type="button" class="crm-figure-info" aria-expanded="false"'
                     r' aria-controls="tip-closing-rate"', card)
    assert re.search(r'<p class="crm-figure-tip" id="tip-closing-rate" data-tip="closing-rate"'
                     r' hidden>Closing rate = ', card)
    # The number is a link to the list of the deals behind it.
    assert re.search(r'<a class="crm-figure" href="[^"]*created_at__gte=[^"]*">'
                     r'<span class="crm-figure-value" data-figure="closing-rate">', card)


def test_the_closing_and_win_rates_each_say_what_they_count(admin_client, november):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-what="closing-rate"' in html
    assert 'data-what="win-rate"' in html


def test_the_per_salesperson_table_labels_each_cell_for_the_phone_cards(
    admin_client, november
):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "crm-owner-cards" in html
    # Seven figures per salesperson (Sari, Budi), each cell named.
    assert html.count(" data-label=") == 7 * 2
