"""A customer's timeline (crm/timeline.py): deals, payments and WhatsApp
messages in one list, newest first, in a constant number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Customer, Message, Opportunity, Payment, Stage
from crm.timeline import DEAL, LOST, MESSAGE, PAYMENT, WON, customer_timeline

START = timezone.make_aware(datetime.datetime(2026, 11, 2, 9, 0))


def at(hours):
    return START + datetime.timedelta(hours=hours)


@pytest.fixture
def story(make_customer, make_opportunity):
    """Bu Sum: a deal opened, won and half paid; another lost; one message."""
    customer = make_customer(name="Bu Sum")
    won = make_opportunity(customer=customer, title="Kripik 50 bungkus", amount=1_000_000,
                           created_at=at(0))
    won.move_to_stage(Stage.WON)
    Opportunity.objects.filter(pk=won.pk).update(closed_at=at(2))
    payment = Payment(opportunity=won, amount=400_000, paid_on=datetime.date(2026, 11, 3))
    payment.save()
    Payment.objects.filter(pk=payment.pk).update(created_at=at(3))
    lost = make_opportunity(customer=customer, title="Keripik 10 bungkus", created_at=at(1))
    lost.move_to_stage(Stage.LOST, lost_reason="Harga")
    Opportunity.objects.filter(pk=lost.pk).update(closed_at=at(4))
    Message.objects.create(customer=customer, phone=customer.phone, text="Terima kasih",
                           status=Message.Status.DELIVERED, created_at=at(5))
    return customer


def test_it_tells_the_customers_story_newest_first(story):
    items = customer_timeline(story)
    assert [(item.kind, item.text) for item in items] == [
        (MESSAGE, "Terima kasih"),
        (LOST, "Keripik 10 bungkus"),
        (PAYMENT, "Kripik 50 bungkus"),
        (WON, "Kripik 50 bungkus"),
        (DEAL, "Keripik 10 bungkus"),
        (DEAL, "Kripik 50 bungkus"),
    ]
    message, lost, payment = items[:3]
    assert message.status == Message.Status.DELIVERED
    assert lost.status == "Harga"
    assert (payment.amount, payment.paid_on) == (400_000, datetime.date(2026, 11, 3))


def test_it_shows_only_the_deals_it_is_given_and_their_payments(story):
    mine = Opportunity.objects.filter(title="Keripik 10 bungkus")
    kinds = [(item.kind, item.text) for item in customer_timeline(story, mine)]
    assert (PAYMENT, "Kripik 50 bungkus") not in kinds
    assert (DEAL, "Kripik 50 bungkus") not in kinds
    assert (DEAL, "Keripik 10 bungkus") in kinds


def test_it_reads_three_queries_however_many_deals(story, make_opportunity):
    with CaptureQueriesContext(connection) as few:
        customer_timeline(story)
    for number in range(10):
        deal = make_opportunity(customer=story, title=f"Pesanan {number}", stage=Stage.NEGOTIATION)
        deal.move_to_stage(Stage.WON)
        Payment(opportunity=deal, amount=1_000).save()
    with CaptureQueriesContext(connection) as many:
        items = customer_timeline(story, length=100)
    assert len(few) == len(many) == 3
    assert sum(item.kind == PAYMENT for item in items) == 11


def test_it_keeps_to_its_length(story):
    assert len(customer_timeline(story, length=2)) == 2


def test_a_customer_not_saved_yet_has_no_story():
    assert customer_timeline(Customer(name="Baru")) == []
