"""Lists and exports take comparison filters from the URL, nothing else
(crm/lookups.py): a pattern lookup such as ``__regex`` could hold a worker
for minutes, and on users it could probe password hashes."""

import time

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from crm.lookups import is_comparison_lookup
from crm.models import Customer, Message, Opportunity, Stage
from crm.roles import OWNER, SALES, VIEWER

# Python's re needs ~2^n steps for this pattern on "c" * n + "!": 26
# characters took 12.5 s on SQLite before lookups were limited.
BACKTRACKING = "^(c+)+$"


@pytest.fixture
def owner(client, make_staff):
    user = make_staff("pemilik", OWNER)
    client.force_login(user)
    return user


def test_a_backtracking_pattern_is_refused_before_it_reaches_the_database(
    client, owner, make_opportunity, make_customer
):
    slow = "c" * 26 + "!"
    make_opportunity(title=slow, customer=make_customer(name=slow))
    urls = [
        reverse("admin:crm_opportunity_changelist") + f"?title__regex={BACKTRACKING}",
        reverse("admin:crm_customer_changelist") + f"?name__iregex={BACKTRACKING}",
        reverse("admin:crm_opportunity_changelist") + f"?customer__name__regex={BACKTRACKING}",
        reverse("admin:crm_opportunity_export") + f"?title__regex={BACKTRACKING}",
        reverse("admin:crm_customer_export") + f"?name__regex={BACKTRACKING}",
    ]
    for url in urls:
        started = time.monotonic()
        response = client.get(url)
        elapsed = time.monotonic() - started
        assert response.status_code == 400, url
        # Refused without running the pattern: well under the 12.5 s it took.
        assert elapsed < 2, (url, elapsed)


@pytest.mark.parametrize("lookup", [
    "title__contains=a", "title__icontains=a", "title__startswith=a",
    "customer__name__endswith=a", "customer__notes__search=a",
    "owner__password__startswith=pbkdf2", "customer__owner__password__regex=.",
    "no_such_field=1", "stage__exact__regex=.",
])
def test_pattern_and_unknown_lookups_answer_400(client, owner, lookup):
    response = client.get(reverse("admin:crm_opportunity_changelist") + "?" + lookup)
    assert response.status_code == 400


def test_the_libraries_admins_are_guarded_too(client, owner):
    # Django's own user list and django-axes' lists go through the same site.
    for model_admin in admin.site._registry.values():
        assert not model_admin.lookup_allowed("id__regex", ".", None), model_admin
    response = client.get(reverse("admin:auth_user_changelist") + "?username__regex=.")
    assert response.status_code == 400


def test_every_filter_and_dashboard_link_still_works(
    client, owner, make_opportunity, make_customer
):
    customer = make_customer(name="Dewi")
    deal = make_opportunity(customer=customer, stage=Stage.LOST, lost_reason="Mahal")
    today = timezone.localdate().isoformat()
    # As the dashboard writes them: aware, in local time.
    now = timezone.localtime().replace(microsecond=0).isoformat()
    opportunities = reverse("admin:crm_opportunity_changelist")
    for query in [
        "stage__exact=lost", "status__exact=lost", "status__in=won,lost",
        f"created_at__gte={now}", f"closed_at__lt={now}", f"owner__id__exact={owner.pk}",
        "owner__isnull=True", "lost_reason=Mahal", "follow_up=overdue",
        f"payment_due_date__lt={today}", "payment_status__in=unpaid,down_payment",
        "fulfilment_status__exact=in_progress", f"expected_close_date__gte={today}",
        "o=1", "q=Dewi", "p=1",
    ]:
        response = client.get(opportunities, dict([query.split("=", 1)]))
        assert response.status_code == 200, query
        assert "e=1" not in response.get("Location", ""), query
    found = client.get(f"{opportunities}?lost_reason=Mahal").context["cl"].result_list
    assert list(found) == [deal]
    customers = reverse("admin:crm_customer_changelist")
    for query in ["source__exact=other", "city=Blitar", "whatsapp_opt_out__exact=0"]:
        assert client.get(f"{customers}?{query}").status_code == 200, query
    messages = reverse("admin:crm_message_changelist")
    assert client.get(f"{messages}?customer__id__exact={customer.pk}").status_code == 200


def test_the_check_reads_fields_then_comparisons():
    assert is_comparison_lookup(Opportunity, "owner__id__exact")
    assert is_comparison_lookup(Opportunity, "customer__city")
    assert is_comparison_lookup(Opportunity, "created_at__date__gte")
    assert is_comparison_lookup(Message, "batch__id__exact")
    assert is_comparison_lookup(Customer, "name")
    assert not is_comparison_lookup(Customer, "name__regex")
    assert not is_comparison_lookup(Opportunity, "customer__name__icontains")
    assert not is_comparison_lookup(get_user_model(), "password__startswith")
    assert not is_comparison_lookup(Customer, "anything")


@pytest.mark.parametrize("role", [SALES, VIEWER])
def test_other_roles_are_refused_the_same_way(client, make_staff, role):
    client.force_login(make_staff("orang", role))
    url = reverse("admin:crm_customer_changelist") + f"?name__regex={BACKTRACKING}"
    assert client.get(url).status_code == 400
