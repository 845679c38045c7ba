"""A broad text search on MariaDB reads its first pages by an ordered scan;
a rare one, another sort order or a deep page uses the FULLTEXT result.
Either way the list shows the same rows in the same order."""

import datetime

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.largelists import paginator as paginators
from crm.largelists import scan
from crm.models import Opportunity

OPPORTUNITIES = "/admin/crm/opportunity/"

# InnoDB's FULLTEXT index sees only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _mariadb_only(monkeypatch):
    if not getattr(connection, "mysql_is_mariadb", False):
        pytest.skip("the ordered scan uses MariaDB's LIMIT … ROWS EXAMINED (CI: MariaDB)")
    # The scan is for words in more rows than the capped count: 150 here
    # (above a page of 100, as the real 10,000 is).
    monkeypatch.setattr(paginators, "COUNT_CAP", 150)


@pytest.fixture
def deals(make_customer):
    """Deals of several customers, one a minute, newest last; returns a maker."""
    now = timezone.now()
    minute = iter(range(10_000))

    def make(name, count, phone=None):
        customer = make_customer(name=name, **({"phone": phone} if phone else {}))
        Opportunity.objects.bulk_create(
            Opportunity(customer=customer, title="Kripik", amount=1,
                        created_at=now - datetime.timedelta(minutes=next(minute)))
            for _ in range(count)
        )
        Opportunity.objects.filter(search_text="").refresh_search_text()

    return make


def listed(admin_client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(OPPORTUNITIES, params)
    scanned = any("ROWS EXAMINED" in query["sql"] for query in queries)
    return response.context["cl"], scanned


def newest(condition, start=0, count=100):
    rows = Opportunity.objects.filter(condition).order_by("-created_at", "-pk")
    return list(rows.values_list("pk", flat=True)[start:start + count])


def test_a_broad_word_is_read_in_list_order_with_the_same_rows(admin_client, deals):
    for _round in range(3):
        deals("Siti Aminah", 90)
        deals("Budi Santoso", 60)
        deals("Prasiti Wulandari", 30)  # "siti" inside a word: not a match
    cl, scanned = listed(admin_client, q="siti")
    assert scanned
    expected = newest(Q(customer__name="Siti Aminah"))
    assert [o.pk for o in cl.result_list] == expected
    assert cl.result_count == 150  # the capped FULLTEXT count: "more than 150"
    cl, scanned = listed(admin_client, q="siti", p="2")
    assert scanned
    assert [o.pk for o in cl.result_list] == newest(
        Q(customer__name="Siti Aminah"), start=100
    )
    # The page's related rows are still prefetched, not queried per row.
    assert cl.result_list[0].customer.name == "Siti Aminah"


def test_a_word_in_few_rows_is_left_to_the_fulltext_index(admin_client, deals):
    deals("Eko Wibowo", 3)
    deals("Budi Santoso", 200)
    cl, scanned = listed(admin_client, q="wibowo")
    assert not scanned  # an exact count: few matches, FULLTEXT is fast
    assert [o.pk for o in cl.result_list] == newest(Q(customer__name="Eko Wibowo"))


def test_a_scan_that_stops_early_falls_back_to_the_fulltext_result(
    admin_client, deals, monkeypatch
):
    monkeypatch.setattr(scan, "ROWS_EXAMINED", 50)
    scans = []
    rows = scan.OrderedScan.rows

    def spy(self, *args):
        found = rows(self, *args)
        scans.append(found is not None)
        return found

    monkeypatch.setattr(scan.OrderedScan, "rows", spy)
    deals("Budi Santoso", 200)  # the newest: the scan's 50 rows find no Eko
    deals("Eko Wibowo", 200)
    cl, _scanned = listed(admin_client, q="wibowo")
    assert scans == [False]  # tried, stopped at its bound
    assert [o.pk for o in cl.result_list] == newest(Q(customer__name="Eko Wibowo"))


def test_another_sort_order_uses_the_fulltext_result(admin_client, deals):
    deals("Siti Aminah", 200)
    deals("Budi Santoso", 10)
    cl, scanned = listed(admin_client, q="siti", o="3")  # sorted by amount
    assert not scanned
    assert len(cl.result_list) == 100
    assert {o.customer.name for o in cl.result_list} == {"Siti Aminah"}


def test_a_filter_and_a_search_together(admin_client, deals):
    deals("Siti Aminah", 150)
    Opportunity.objects.filter(pk__in=newest(Q(), count=40)).update(stage="proposal")
    cl, _scanned = listed(admin_client, q="siti", stage__exact="proposal")
    assert [o.pk for o in cl.result_list] == newest(
        Q(customer__name="Siti Aminah", stage="proposal")
    )


def test_a_number_prefix_many_customers_share_is_read_in_list_order(admin_client, deals):
    for i in range(4):
        deals(f"Pelanggan {i}", 50, phone=f"0857-7777-00{i:02d}")
        deals(f"Lain {i}", 30)
    cl, scanned = listed(admin_client, q="0857 7777")
    assert scanned
    assert [o.pk for o in cl.result_list] == newest(Q(customer__phone__startswith="6285777770"))


def test_a_broad_name_in_the_customer_list_is_read_in_list_order(admin_client):
    from crm.models import Customer

    now = timezone.now()
    names = ["Siti Aminah", "Siti Rahayu", "Budi Santoso", "Prasiti Wulandari"]
    Customer.objects.bulk_create(
        Customer(name=names[i % 4], created_at=now - datetime.timedelta(minutes=i))
        for i in range(400)
    )
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/crm/customer/", {"q": "siti"})
    assert any("ROWS EXAMINED" in query["sql"] for query in queries)
    cl = response.context["cl"]
    expected = Customer.objects.filter(name__startswith="Siti").order_by("-created_at", "-pk")
    assert [c.pk for c in cl.result_list] == list(expected.values_list("pk", flat=True)[:100])
    assert cl.result_count == 150  # capped: "more than 150"


def test_fewer_matches_than_the_cap_are_found_once_and_paged_in_list_order(admin_client, deals):
    for _round in range(2):
        deals("Eko Wibowo", 70)
        deals("Budi Santoso", 30)
    # 140 matches: under the cap (150), over a page.
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(OPPORTUNITIES, {"q": "wibowo", "p": "2"})
    cl = response.context["cl"]
    assert cl.result_count == 140
    assert [o.pk for o in cl.result_list] == newest(Q(customer__name="Eko Wibowo"), start=100)
    # One FULLTEXT lookup gave the count and the matches; the page sorted those.
    assert sum("MATCH" in query["sql"] for query in queries) == 1
