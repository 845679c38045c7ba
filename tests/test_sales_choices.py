"""A salesperson sees only what is theirs in every dropdown and filter, and
a send that reached no one leaves no record (security pass, issue 14)."""

import pytest
from django.urls import reverse

from crm.models import Customer, MessageBatch
from crm.roles import OWNER, SALES
from crm.whatsapp import outbox

CUSTOMERS = reverse("admin:crm_customer_changelist")
MESSAGES = reverse("admin:crm_message_changelist")
BOARD = reverse("admin:crm_opportunity_board")


@pytest.fixture
def people(make_staff):
    return {"owner": make_staff("pemilik", OWNER), "sari": make_staff("sari", SALES),
            "budi": make_staff("budi", SALES)}


@pytest.fixture
def book(people, make_customer, make_opportunity):
    sari, budi = people["sari"], people["budi"]
    dewi = make_customer(name="Dewi", owner=sari)
    rina = make_customer(name="Rina", owner=budi)
    make_opportunity(customer=dewi, owner=sari, title="Kripik Dewi")
    make_opportunity(customer=rina, owner=budi, title="Batik Rina")
    return {
        "dewi": dewi, "rina": rina,
        "sari_batch": outbox.queue_messages(
            "Promo Sari", by=sari, customers=Customer.objects.filter(pk=dewi.pk)),
        "budi_batch": outbox.queue_messages(
            "Promo rahasia Budi", by=budi, customers=Customer.objects.filter(pk=rina.pk)),
    }


def filter_choices(response, field_name):
    for spec in response.context["cl"].filter_specs:
        if getattr(spec, "field_path", None) == field_name:
            return {str(label) for _pk, label in spec.lookup_choices}
    raise AssertionError(f"no filter {field_name}")


def test_the_message_log_s_batch_filter_lists_only_the_salesperson_s_batches(
    client, people, book
):
    client.force_login(people["sari"])
    batches = filter_choices(client.get(MESSAGES), "batch")
    assert batches == {str(book["sari_batch"])}
    client.force_login(people["owner"])
    assert filter_choices(client.get(MESSAGES), "batch") == {
        str(book["sari_batch"]), str(book["budi_batch"])}


def test_the_board_offers_a_salesperson_no_list_of_users(client, people, book):
    client.force_login(people["sari"])
    html = client.get(BOARD).content.decode()
    assert 'name="owner"' not in html and "budi" not in html
    # An owner chosen in the URL changes nothing: still only their deals.
    board = client.get(BOARD, {"owner": people["budi"].pk}).context["columns"]
    assert {card.opportunity.title for column in board for card in column.cards} == {
        "Kripik Dewi"}
    client.force_login(people["owner"])
    html = client.get(BOARD).content.decode()
    assert 'name="owner"' in html and "budi" in html


def test_a_bulk_send_to_someone_else_s_customers_records_nothing(client, people, book):
    client.force_login(people["sari"])
    before = MessageBatch.objects.count()
    response = client.post(CUSTOMERS, {
        "action": "send_whatsapp", "_selected_action": [book["rina"].pk],
        "text": "Halo {nama}", "confirm": "1",
    }, follow=True)
    assert MessageBatch.objects.count() == before
    said = " ".join(str(message) for message in response.context["messages"])
    assert "No WhatsApp message was queued" in said or "Tidak ada pesan WhatsApp" in said


def test_a_send_that_reaches_no_one_keeps_no_batch(people, make_customer):
    make_customer(name="Tanpa nomor", phone=None)
    make_customer(name="Berhenti", whatsapp_opt_out=True)
    before = MessageBatch.objects.count()
    batch = outbox.queue_messages("Halo", by=people["owner"], customers=Customer.objects.all())
    assert (batch.pk, batch.queued_count, batch.skipped_count) == (None, 0, 2)
    assert MessageBatch.objects.count() == before
