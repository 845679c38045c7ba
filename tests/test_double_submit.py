"""A confirmation posted twice (a double tap, or Back and Send again) acts once.

The bulk send's confirmation, the single-customer send page and the payment
form each carry a one-time token from the page the user saw; a second post of
the same page queues nothing, records nothing, and says what the first did.
"""

import re
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from crm.models import (
    Message,
    MessageBatch,
    MessageTemplate,
    NotificationRule,
    Payment,
    Stage,
)
from crm.whatsapp import outbox

CUSTOMERS_URL = reverse("admin:crm_customer_changelist")
OPPORTUNITIES_URL = reverse("admin:crm_opportunity_changelist")
MESSAGES_URL = reverse("admin:crm_message_changelist")


@pytest.fixture
def shop(make_customer):
    return [
        make_customer(name="Dewi", phone="0812-3456-7890"),
        make_customer(name="Sari", phone="+62 857 1111 2222"),
        make_customer(name="Tono", phone="0812-9999-0000", whatsapp_opt_out=True),
    ]


def previewed(client, url, data):
    """Post the page's Preview, as a browser does; return the Send form's fields."""
    response = client.post(url, {**data, "preview": "1"})
    assert response.status_code == 200
    form = response.context["form"]
    token = form["request_token"].value()
    assert token and f'value="{token}"' in response.content.decode()
    return {**data, "text": form["text"].value(), "request_token": token, "confirm": "1"}


def shown_messages(response):
    return [str(message) for message in response.context["messages"]]


def test_a_bulk_send_posted_twice_from_the_customer_list_queues_once(admin_client, shop):
    send = previewed(admin_client, CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "text": "Halo {nama}, ada kripik baru!",
    })
    first = admin_client.post(CUSTOMERS_URL, send, follow=True)
    second = admin_client.post(CUSTOMERS_URL, send, follow=True)
    batch = MessageBatch.objects.get()
    assert batch.queued_count == 2 and Message.objects.count() == 2
    assert shown_messages(first)[0].startswith("2 pesan WhatsApp masuk antrean")
    [said] = shown_messages(second)
    assert said.startswith("Sudah dikirim: 2 pesan WhatsApp masuk antrean pada ")
    assert "tidak ada yang dikirim lagi" in said
    assert f'href="{MESSAGES_URL}?batch__id__exact={batch.pk}"' in said


def test_a_bulk_send_posted_twice_from_the_opportunity_list_queues_once(
    admin_client, shop, make_opportunity
):
    deals = [make_opportunity(customer=c, title=f"Batik {c.name}") for c in shop]
    send = previewed(admin_client, OPPORTUNITIES_URL, {
        "action": "send_whatsapp", "_selected_action": [d.pk for d in deals],
        "text": "Pesanan {judul}: {nilai}",
    })
    admin_client.post(OPPORTUNITIES_URL, send, follow=True)
    second = admin_client.post(OPPORTUNITIES_URL, send, follow=True)
    assert MessageBatch.objects.count() == 1 and Message.objects.count() == 2
    assert shown_messages(second)[0].startswith("Sudah dikirim: 2 pesan WhatsApp")


def test_the_single_customer_page_posted_twice_sends_once(admin_client, shop):
    url = reverse("admin:crm_customer_send_whatsapp", args=[shop[0].pk])
    send = previewed(admin_client, url, {"text": "Pesanan {nama} siap"})
    first = admin_client.post(url, send, follow=True)
    second = admin_client.post(url, send, follow=True)
    assert first.redirect_chain[0][1] == 302
    assert [m.text for m in Message.objects.all()] == ["Pesanan Dewi siap"]
    assert shown_messages(second)[0].startswith("Sudah dikirim: 1 pesan WhatsApp")


def test_each_preview_is_a_new_send(admin_client, shop):
    """Back, a changed text, Preview and Send is meant: it sends again."""
    url = reverse("admin:crm_customer_send_whatsapp", args=[shop[0].pk])
    admin_client.post(url, previewed(admin_client, url, {"text": "Halo {nama}"}))
    admin_client.post(url, previewed(admin_client, url, {"text": "Maaf, Halo {nama} lagi"}))
    assert MessageBatch.objects.count() == 2 and Message.objects.count() == 2


def test_back_after_sending_posts_the_same_preview_and_sends_nothing(admin_client, shop):
    """Back from the list reloads the preview by posting the first page again."""
    page = admin_client.post(CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop]})
    first_page = {"action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
                  "request_token": page.context["form"]["request_token"].value(),
                  "text": "Halo {nama}"}
    admin_client.post(CUSTOMERS_URL, previewed(admin_client, CUSTOMERS_URL, first_page))
    again = admin_client.post(
        CUSTOMERS_URL, previewed(admin_client, CUSTOMERS_URL, first_page), follow=True)
    assert MessageBatch.objects.count() == 1 and Message.objects.count() == 2
    assert shown_messages(again)[0].startswith("Sudah dikirim: 2 pesan WhatsApp")


def test_a_post_without_a_token_still_sends(admin_client, shop):
    url = reverse("admin:crm_customer_send_whatsapp", args=[shop[0].pk])
    admin_client.post(url, {"text": "Halo {nama}", "confirm": "1"})
    admin_client.post(url, {"text": "Halo {nama}", "confirm": "1"})
    assert MessageBatch.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_confirmation_at_the_same_moment_queue_one_batch(
    admin_user, shop, monkeypatch
):
    if connection.vendor != "mysql":
        pytest.skip("needs a database server that several connections share (CI: MariaDB)")
    client = Client()
    client.force_login(admin_user)
    send = previewed(client, CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "text": "Halo {nama}",
    })
    # Both posts pass the look-up for an earlier batch before either writes one.
    both_looked = threading.Barrier(2)
    check = outbox.check_placeholders

    def check_after_both_looked(*args, **kwargs):
        both_looked.wait(timeout=10)
        return check(*args, **kwargs)

    monkeypatch.setattr(outbox, "check_placeholders", check_after_both_looked)
    responses, errors = [], []

    def post():
        try:
            tap = Client()
            tap.force_login(admin_user)
            responses.append(tap.post(CUSTOMERS_URL, send, follow=True))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert MessageBatch.objects.count() == 1 and Message.objects.count() == 2
    said = sorted(shown_messages(r)[0][:30] for r in responses)
    assert said == ["2 pesan WhatsApp masuk antrean", "Sudah dikirim: 2 pesan WhatsAp"]


# --- The payment form ------------------------------------------------------------


@pytest.fixture
def order(make_customer, make_opportunity):
    deal = make_opportunity(customer=make_customer(name="Dewi", phone="0812-3456-7890"),
                            title="Kripik 50 bungkus", amount=1_500_000, stage=Stage.NEGOTIATION)
    deal.move_to_stage(Stage.WON)
    template = MessageTemplate.objects.create(
        name="Kuitansi", text="Pembayaran {pembayaran} diterima; total dibayar {dibayar}."
    )
    NotificationRule.objects.create(event=NotificationRule.Event.PAYMENT_RECEIVED,
                                    template=template)
    return deal


def payment_post(client, order, *amounts):
    """The opportunity page as the browser posts it after "Add another payment"
    was pressed once per amount: each new row is a copy of the page's empty row."""
    url = reverse("admin:crm_opportunity_change", args=[order.pk])
    page = client.get(url).content.decode()
    [token] = re.findall(r'name="payments-__prefix__-form_token" value="([^"]+)"', page)
    data = {
        "customer": order.customer_id, "title": order.title, "amount": str(order.amount),
        "stage": order.stage, "fulfilment_status": order.fulfilment_status,
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
        "payments-TOTAL_FORMS": str(len(amounts)), "payments-INITIAL_FORMS": "0",
    }
    for i, amount in enumerate(amounts):
        data.update({
            f"payments-{i}-paid_on": "2026-11-20", f"payments-{i}-amount": str(amount),
            f"payments-{i}-method": "transfer", f"payments-{i}-form_token": token,
        })
    return url, data


def test_a_payment_posted_twice_is_recorded_once_with_one_receipt(admin_client, order):
    url, data = payment_post(admin_client, order, 1_000_000)
    assert admin_client.post(url, data, follow=True).redirect_chain[0][1] == 302
    second = admin_client.post(url, data, follow=True)
    assert second.status_code == 200
    assert list(Payment.objects.values_list("amount", flat=True)) == [1_000_000]
    order.refresh_from_db()
    assert order.amount_paid == 1_000_000
    assert [m.text for m in Message.objects.all()] == [
        "Pembayaran Rp 1.000.000 diterima; total dibayar Rp 1.000.000."
    ]
    said = " ".join(shown_messages(second))
    assert "Sudah dicatat: pembayaran Rp 1.000.000 tanggal 20-11-2026 dicatat pada " in said
    assert "tidak dicatat lagi" in said


def test_a_repeated_payment_that_would_overpay_is_not_refused_but_shown(admin_client, order):
    """The first post paid it all; the second is the same payment, not an overpayment."""
    url, data = payment_post(admin_client, order, 1_500_000)
    admin_client.post(url, data, follow=True)
    second = admin_client.post(url, data, follow=True)
    assert second.status_code == 200 and Payment.objects.count() == 1
    assert "Sudah dicatat: pembayaran Rp 1.500.000" in " ".join(shown_messages(second))


def test_two_new_payment_rows_of_one_page_are_two_payments(admin_client, order):
    url, data = payment_post(admin_client, order, 500_000, 300_000)
    admin_client.post(url, data)
    admin_client.post(url, data)
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [300_000, 500_000]
    assert Message.objects.count() == 2


def test_a_payment_from_a_new_page_is_a_new_payment(admin_client, order):
    for _ in range(2):
        admin_client.post(*payment_post(admin_client, order, 500_000))
    assert Payment.objects.count() == 2 and Message.objects.count() == 2


def test_record_payment_records_once_per_token(order):
    from crm.models.orders import record_payment

    first, recorded = record_payment(
        Payment(opportunity=order, amount=200_000, request_token="t payments-0")
    )
    again, recorded_again = record_payment(
        Payment(opportunity=order, amount=200_000, request_token="t payments-0")
    )
    assert (recorded, recorded_again, again.pk) == (True, False, first.pk)
    assert Payment.objects.count() == 1
