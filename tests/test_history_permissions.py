"""Every role against every history page (django-simple-history's views).

The version page of simple-history is a change form that saves on POST. Here
it may write only what the change page may: the user's own visible record,
with change permission; a deleted record is never re-created from it (the
owner restores customers from "Deleted customers"). Everyone else sees the
version read-only, or is refused.
"""

import pytest
from django.urls import reverse

from crm.models import Customer, Opportunity, Stage, StageChange
from crm.roles import OWNER, SALES, VIEWER

CUSTOMER_FIELDS = ["name", "phone", "city", "notes", "owner_id"]
OPPORTUNITY_FIELDS = ["title", "amount", "stage", "owner_id", "customer_id"]


@pytest.fixture
def people(make_staff):
    return {
        "owner": make_staff("pemilik", OWNER),
        "sari": make_staff("sari", SALES),
        "budi": make_staff("budi", SALES),
        "viewer": make_staff("viewer", VIEWER),
        "staff_without_role": make_staff("tamu"),
    }


@pytest.fixture
def records(people, make_customer, make_opportunity):
    """Sari's customer and deal (each changed once, so there is a version to
    go back to), and a customer of Sari's with a deal, both deleted."""
    sari = people["sari"]
    customer = make_customer(name="Dewi", city="Blitar", owner=sari, phone="0812-2222-0001")
    customer.city = "Kediri"
    customer.save()
    deal = make_opportunity(customer=customer, owner=sari, title="Kripik", amount=500_000)
    deal.amount = 600_000
    deal.save()
    gone = make_customer(name="Rina", owner=sari, phone="0812-2222-0002")
    gone_deal = make_opportunity(customer=gone, owner=sari, title="Batik")
    gone_deal_id, gone_id = gone_deal.pk, gone.pk
    gone_deal.delete()
    gone.delete()
    return {
        "customer": customer, "deal": deal,
        "deleted_customer": Customer.history.filter(id=gone_id).earliest("history_date"),
        "deleted_deal": Opportunity.history.filter(id=gone_deal_id).earliest("history_date"),
    }


def version_url(model_name, record_id, history_id):
    return reverse(f"admin:crm_{model_name}_simple_history", args=[record_id, history_id])


def customer_post(customer_id, **changes):
    data = {
        "name": "Diubah lewat riwayat", "phone": "0812-2222-0009", "business_name": "",
        "email": "", "address": "", "city": "", "source": "other", "notes": "",
        "owner": "", "opportunities-TOTAL_FORMS": "0", "opportunities-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def opportunity_post(customer_id, owner_id):
    return {
        "customer": customer_id, "title": "Diubah lewat riwayat", "amount": "999999999",
        "owner": owner_id, "stage": Stage.WON, "lost_reason": "", "expected_close_date": "",
        "next_step": "", "next_step_date": "", "fulfilment_status": "pending",
        "payment_due_date": "",
        "payments-TOTAL_FORMS": "0", "payments-INITIAL_FORMS": "0",
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
    }


def snapshot():
    return (
        list(Customer.objects.order_by("pk").values(*CUSTOMER_FIELDS)),
        list(Opportunity.objects.order_by("pk").values(*OPPORTUNITY_FIELDS)),
        StageChange.objects.count(),
    )


def history_pages(records):
    customer, deal = records["customer"], records["deal"]
    first_customer = customer.history.earliest("history_date")
    first_deal = deal.history.earliest("history_date")
    return {
        "customer history": reverse("admin:crm_customer_history", args=[customer.pk]),
        "customer version": version_url("customer", customer.pk, first_customer.history_id),
        "opportunity history": reverse("admin:crm_opportunity_history", args=[deal.pk]),
        "opportunity version": version_url("opportunity", deal.pk, first_deal.history_id),
        "deleted customer history": reverse(
            "admin:crm_customer_history", args=[records["deleted_customer"].id]),
        "deleted customer version": version_url(
            "customer", records["deleted_customer"].id,
            records["deleted_customer"].history_id),
        "deleted opportunity history": reverse(
            "admin:crm_opportunity_history", args=[records["deleted_deal"].id]),
        "deleted opportunity version": version_url(
            "opportunity", records["deleted_deal"].id, records["deleted_deal"].history_id),
    }


# Who may open each page (200); everyone else gets 403. Sari owns every
# record; Budi is another salesperson; deleted records' history is for those
# who see every record.
MAY_SEE = {
    "customer history": {"owner", "sari", "viewer"},
    "customer version": {"owner", "sari", "viewer"},
    "opportunity history": {"owner", "sari", "viewer"},
    "opportunity version": {"owner", "sari", "viewer"},
    "deleted customer history": {"owner", "viewer"},
    "deleted customer version": {"owner", "viewer"},
    "deleted opportunity history": {"owner", "viewer"},
    "deleted opportunity version": {"owner", "viewer"},
}
ROLES = ["owner", "sari", "budi", "viewer", "staff_without_role"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_the_history_it_may(client, people, records, role):
    client.force_login(people[role])
    for page, url in history_pages(records).items():
        status = client.get(url).status_code
        assert status == (200 if role in MAY_SEE[page] else 403), (role, page)


@pytest.mark.parametrize("role", ["viewer", "budi", "staff_without_role"])
def test_who_may_not_change_a_record_changes_nothing_through_its_versions(
    client, people, records, role
):
    client.force_login(people[role])
    before = snapshot()
    pages = history_pages(records)
    customer = records["customer"]
    attempts = [
        (pages["customer version"], customer_post(customer.pk)),
        (pages["opportunity version"], opportunity_post(customer.pk, people[role].pk)),
        (pages["deleted customer version"], customer_post(records["deleted_customer"].id)),
        (pages["deleted opportunity version"],
         opportunity_post(customer.pk, people[role].pk)),
    ]
    for url, data in attempts:
        assert client.post(url, data).status_code == 403, url
    assert snapshot() == before


def test_the_owner_never_recreates_a_deleted_record_from_its_history(client, people, records):
    client.force_login(people["owner"])
    before = snapshot()
    pages = history_pages(records)
    deleted = records["deleted_customer"]
    response = client.post(pages["deleted customer version"], customer_post(
        deleted.id, name=deleted.name, phone=deleted.phone))
    assert response.status_code == 403
    response = client.post(pages["deleted opportunity version"], opportunity_post(
        records["customer"].pk, people["owner"].pk))
    assert response.status_code == 403
    assert snapshot() == before
    assert not Customer.objects.filter(pk=deleted.id).exists()


@pytest.mark.parametrize(("role", "page"), [
    *(("viewer", page) for page in ["customer version", "opportunity version",
                                    "deleted customer version", "deleted opportunity version"]),
    ("owner", "deleted customer version"),
    ("owner", "deleted opportunity version"),
])
def test_a_version_that_cannot_be_reverted_is_shown_without_inputs(
    client, people, records, role, page
):
    client.force_login(people[role])
    response = client.get(history_pages(records)[page])
    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == []
    assert response.context["revert_disabled"] is True
    html = response.content.decode()
    assert 'name="_save"' not in html and "<input type=\"text\"" not in html
    # The values are still there to read.
    assert ("Dewi" in html or "Rina" in html or "Kripik" in html or "Batik" in html)


@pytest.mark.parametrize("role", ["owner", "sari"])
def test_who_may_change_the_record_reverts_it_from_a_version(client, people, records, role):
    client.force_login(people[role])
    customer = records["customer"]
    url = history_pages(records)["customer version"]
    response = client.get(url)
    form = response.context["adminform"].form
    assert "name" in form.fields and response.context["revert_disabled"] is False
    data = {name: ("" if form[name].value() is None else form[name].value())
            for name in form.fields}
    response = client.post(url, {**data, "opportunities-TOTAL_FORMS": "0",
                                 "opportunities-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "Blitar"  # the first version's city is back
    assert customer.history.latest("history_date").history_user == people[role]


def test_a_salesperson_cannot_give_a_record_away_by_reverting(client, people, records):
    client.force_login(people["sari"])
    deal = records["deal"]
    url = history_pages(records)["opportunity version"]
    form = client.get(url).context["adminform"].form
    assert "owner" not in form.fields
    data = {name: ("" if form[name].value() is None else form[name].value())
            for name in form.fields}
    client.post(url, {**data, "owner": people["budi"].pk,
                      "payments-TOTAL_FORMS": "0", "payments-INITIAL_FORMS": "0",
                      "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0"})
    deal.refresh_from_db()
    assert deal.owner == people["sari"] and deal.amount == 500_000


def test_a_revert_posted_with_popup_set_is_saved_and_answered(client, people, records):
    client.force_login(people["owner"])
    customer = records["customer"]
    url = history_pages(records)["customer version"]
    form = client.get(url).context["adminform"].form
    data = {name: ("" if form[name].value() is None else form[name].value())
            for name in form.fields}
    response = client.post(url, {**data, "_popup": "1", "opportunities-TOTAL_FORMS": "0",
                                 "opportunities-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.city == "Blitar"
