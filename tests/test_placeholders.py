"""The payment placeholders: this payment ({pembayaran}/{payment}) and all paid
so far ({dibayar}/{paid}), in a receipt, in the demo's receipt template and
elsewhere."""

import pytest
from django.core.management import call_command

from crm.demo_data import DEMO_MESSAGE_TEMPLATES
from crm.models import Message, MessageTemplate, NotificationRule, Payment, Stage
from crm.whatsapp.templates import check_placeholders, render


@pytest.fixture
def order(make_customer, make_opportunity):
    deal = make_opportunity(customer=make_customer(name="Dewi"), title="Batik tulis",
                            amount=2_000_000, stage=Stage.NEGOTIATION)
    deal.move_to_stage(Stage.WON)
    return deal


def receipts_for(text):
    template = MessageTemplate.objects.create(name="Kuitansi", text=text)
    NotificationRule.objects.create(event=NotificationRule.Event.PAYMENT_RECEIVED,
                                    template=template)


def test_a_second_payment_s_receipt_names_this_payment_and_the_total(order):
    receipts_for("Pembayaran {pembayaran} diterima; total dibayar {dibayar}. "
                 "In English: {payment} of {paid}.")
    Payment.objects.create(opportunity=order, amount=500_000)
    Payment.objects.create(opportunity=order, amount=1_000_000)
    assert list(Message.objects.order_by("pk").values_list("text", flat=True)) == [
        "Pembayaran Rp 500.000 diterima; total dibayar Rp 500.000. "
        "In English: Rp 500.000 of Rp 500.000.",
        "Pembayaran Rp 1.000.000 diterima; total dibayar Rp 1.500.000. "
        "In English: Rp 1.000.000 of Rp 1.500.000.",
    ]


def test_the_demo_receipt_template_uses_this_payment_and_the_total(order):
    receipts_for(DEMO_MESSAGE_TEMPLATES["Kuitansi pembayaran"])
    Payment.objects.create(opportunity=order, amount=500_000)
    Payment.objects.create(opportunity=order, amount=1_000_000)
    receipt = Message.objects.order_by("pk").last().text
    assert "pembayaran Rp 1.000.000 untuk Batik tulis sudah kami terima" in receipt
    assert "total dibayar Rp 1.500.000, sisa Rp 500.000" in receipt


def test_the_demo_loads_its_receipt_template(db):
    call_command("load_demo", verbosity=0)
    template = MessageTemplate.objects.get(name="Kuitansi pembayaran")
    template.full_clean()
    assert "{pembayaran}" in template.text and "{dibayar}" in template.text


def test_outside_a_receipt_the_payment_is_the_order_s_latest(order):
    check_placeholders("{pembayaran} {payment}")  # known, for the opportunity list
    assert render("{pembayaran} / {dibayar}", order.customer, order) == "- / Rp 0"
    Payment.objects.create(opportunity=order, amount=300_000, paid_on="2026-11-01")
    Payment.objects.create(opportunity=order, amount=200_000, paid_on="2026-11-20")
    order.refresh_from_db()
    assert render("{pembayaran} / {dibayar}", order.customer, order) == (
        "Rp 200.000 / Rp 500.000"
    )
