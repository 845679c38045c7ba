"""History: who changed what, restoring a previous version, and bringing a
deleted customer back with its opportunities."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm.history import deleted_records
from crm.models import Customer, Opportunity, Stage, rollups
from crm.roles import OWNER, SALES

CUSTOMER_FIELDS = ["name", "phone", "email", "business_name", "address", "city", "source",
                   "notes", "whatsapp_opt_out", "owner_id"]


@pytest.fixture
def owner(client, django_user_model):
    user = django_user_model.objects.create_user("pemilik", is_staff=True)
    user.groups.add(Group.objects.get(name=OWNER))
    client.force_login(user)
    return user


def customer_form(customer, **changes):
    data = {
        "name": customer.name, "phone": customer.phone or "", "email": customer.email,
        "business_name": customer.business_name, "address": customer.address,
        "city": customer.city, "source": customer.source, "notes": customer.notes,
        "owner": customer.owner_id or "",
        "opportunities-TOTAL_FORMS": "0", "opportunities-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def values(model, pk, fields):
    return model.objects.filter(pk=pk).values(*fields).get()


def test_the_history_says_who_changed_what_and_a_version_can_be_restored(
    client, owner, make_customer
):
    dewi = make_customer(name="Dewi", city="Blitar", business_name="Kripik Dewi",
                         notes="Pesan tiap bulan")
    before = values(Customer, dewi.pk, CUSTOMER_FIELDS)
    change_url = reverse("admin:crm_customer_change", args=[dewi.pk])
    response = client.post(change_url, customer_form(
        dewi, name="Dewi Lestari", city="Kediri", notes=""
    ))
    assert response.status_code == 302
    history = client.get(reverse("admin:crm_customer_history", args=[dewi.pk]))
    html = history.content.decode()
    assert "pemilik" in html and "Kediri" in html  # who, and what changed
    # Restore the first version from its history page, as the Revert button does.
    first = dewi.history.earliest("history_date")
    version_url = reverse("admin:crm_customer_simple_history", args=[dewi.pk, first.history_id])
    form = client.get(version_url).context["adminform"].form
    restored = {name: form[name].value() for name in form.fields}
    restored = {k: ("" if v is None else v) for k, v in restored.items()}
    client.post(version_url, {**restored, "opportunities-TOTAL_FORMS": "0",
                              "opportunities-INITIAL_FORMS": "0"})
    assert values(Customer, dewi.pk, CUSTOMER_FIELDS) == before


def test_restoring_an_opportunity_version_follows_the_stage_rules(
    client, owner, make_opportunity
):
    deal = make_opportunity(stage=Stage.NEGOTIATION, amount=750_000)
    deal.move_to_stage(Stage.WON)
    assert deal.closed_at is not None
    negotiation = deal.history.filter(stage=Stage.NEGOTIATION).latest("history_date")
    url = reverse("admin:crm_opportunity_simple_history", args=[deal.pk, negotiation.history_id])
    form = client.get(url).context["adminform"].form
    data = {name: ("" if form[name].value() is None else form[name].value())
            for name in form.fields}
    client.post(url, {**data, "stage_changes-TOTAL_FORMS": "0",
                      "stage_changes-INITIAL_FORMS": "0", "payments-TOTAL_FORMS": "0",
                      "payments-INITIAL_FORMS": "0"})
    deal.refresh_from_db()
    assert (deal.stage, deal.closed_at, deal.amount) == (Stage.NEGOTIATION, None, 750_000)
    assert rollups.differences() == []


def test_a_deleted_customer_comes_back_with_its_opportunities(
    client, owner, make_customer, make_opportunity
):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890", city="Blitar")
    won = make_opportunity(customer=dewi, title="Kripik", amount=1_000_000)
    won.move_to_stage(Stage.WON)
    lost = make_opportunity(customer=dewi, title="Batik", stage=Stage.LOST, lost_reason="Mahal")
    fields = ["title", "amount", "stage", "status", "closed_at", "lost_reason", "created_at"]
    before = {pk: values(Opportunity, pk, fields) for pk in (won.pk, lost.pk)}
    before_customer = values(Customer, dewi.pk, CUSTOMER_FIELDS)
    # The owner deletes the deals, then the customer (who has none left).
    for deal in (won, lost):
        client.post(reverse("admin:crm_opportunity_delete", args=[deal.pk]), {"post": "yes"})
    client.post(reverse("admin:crm_customer_delete", args=[dewi.pk]), {"post": "yes"})
    assert not Customer.objects.exists()

    deleted_list = reverse("admin:crm_deletedcustomer_changelist")
    listed = client.get(deleted_list).context["cl"].result_list
    assert [record.name for record in listed] == ["Dewi"]
    response = client.post(deleted_list, {
        "action": "restore_customers", "_selected_action": [listed[0].pk],
    })
    assert response.status_code == 302
    assert values(Customer, dewi.pk, CUSTOMER_FIELDS) == before_customer
    assert {pk: values(Opportunity, pk, fields) for pk in (won.pk, lost.pk)} == before
    assert not client.get(deleted_list).context["cl"].result_list
    assert rollups.differences() == []


def test_restoring_is_refused_when_the_number_is_taken_again(client, owner, make_customer):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890")
    client.post(reverse("admin:crm_customer_delete", args=[dewi.pk]), {"post": "yes"})
    make_customer(name="Dewi baru", phone="0812 3456 7890")
    record = deleted_records(Customer).get()
    response = client.post(reverse("admin:crm_deletedcustomer_changelist"), {
        "action": "restore_customers", "_selected_action": [record.pk],
    }, follow=True)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Dewi baru"]
    said = [str(message) for message in response.context["messages"]]
    assert any("6281234567890" in text for text in said), said


def test_a_salesperson_sees_neither_others_history_nor_deleted_customers(
    client, django_user_model, make_customer
):
    sari = django_user_model.objects.create_user("sari", is_staff=True)
    sari.groups.add(Group.objects.get(name=SALES))
    budi = django_user_model.objects.create_user("budi")
    other = make_customer(name="Rina", owner=budi)
    mine = make_customer(name="Dewi", owner=sari, phone="0812-3456-7890")
    client.force_login(sari)
    assert client.get(reverse("admin:crm_customer_history", args=[other.pk])).status_code == 403
    version = other.history.latest("history_date")
    url = reverse("admin:crm_customer_simple_history", args=[other.pk, version.history_id])
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:crm_customer_history", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:crm_deletedcustomer_changelist")).status_code == 403
