"""A broad text search on MariaDB reads its first pages by an ordered scan;
a rare one, another sort order or a deep page uses the FULLTEXT result.
Either way the list shows the same rows in the same order."""

import datetime

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import search
from crm.models import Opportunity, refresh_search_text

OPPORTUNITIES = "/admin/crm/opportunity/"

# InnoDB's FULLTEXT index sees only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _mariadb_only():
    if not getattr(connection, "mysql_is_mariadb", False):
        pytest.skip("the ordered scan uses MariaDB's LIMIT … ROWS EXAMINED (CI: MariaDB)")


@pytest.fixture
def deals(make_customer):
    """Deals of several customers, one a minute, newest last; returns a maker."""
    now = timezone.now()
    minute = iter(range(10_000))

    def make(name, count):
        customer = make_customer(name=name)
        Opportunity.objects.bulk_create(
            Opportunity(customer=customer, title="Kripik", amount=1,
                        created_at=now - datetime.timedelta(minutes=next(minute)))
            for _ in range(count)
        )
        refresh_search_text(Opportunity.objects.filter(search_text=""))

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
    assert cl.result_count == 270  # the count is the FULLTEXT count
    cl, scanned = listed(admin_client, q="siti", p="2")
    assert scanned
    assert [o.pk for o in cl.result_list] == newest(
        Q(customer__name="Siti Aminah"), start=100
    )
    # The page's related rows are still prefetched, not queried per row.
    assert cl.result_list[0].customer.name == "Siti Aminah"


def test_a_rare_word_falls_back_to_the_fulltext_result(admin_client, deals, monkeypatch):
    monkeypatch.setattr(search, "ROWS_EXAMINED", 50)
    deals("Eko Wibowo", 3)
    deals("Budi Santoso", 200)  # newer: the scan stops before reaching Eko
    cl, _scanned = listed(admin_client, q="wibowo")
    assert [o.pk for o in cl.result_list] == newest(Q(customer__name="Eko Wibowo"))


def test_another_sort_order_uses_the_fulltext_result(admin_client, deals):
    deals("Siti Aminah", 120)
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
