"""The deal page (crm/admin/deal_page.py): one-tap Won and Lost through a
POST that checks what the change page checks, the stepper, the customer's
chat link, and a payment recorded from the "Record payment" row."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import PaymentStatus, Stage, StageChange
from crm.roles import OWNER, SALES, VIEWER


def move_url(deal):
    return reverse("admin:crm_opportunity_move", args=[deal.pk])


def change_url(deal):
    return reverse("admin:crm_opportunity_change", args=[deal.pk])


@pytest.fixture
def deal(make_opportunity, make_customer):
    customer = make_customer(name="Heru Prasetyo Wibowo", phone="0812-0000-0000")
    return make_opportunity(customer=customer, title="Batik 20 potong", amount=1_260_000,
                            stage=Stage.NEGOTIATION)


def logged_in(client, user):
    client.force_login(user)
    return client


def test_won_in_one_tap_moves_the_deal_and_comes_back_with_a_message(client, make_staff, deal):
    owner = make_staff("pemilik", OWNER)
    response = logged_in(client, owner).post(move_url(deal), {"stage": "won"}, follow=True)
    deal.refresh_from_db()
    assert deal.stage == Stage.WON and deal.closed_at is not None
    assert response.redirect_chain == [(change_url(deal), 302)]
    assert "sekarang di tahap Menang" in response.content.decode()
    assert StageChange.objects.filter(opportunity=deal, to_stage="won",
                                      changed_by=owner).exists()


def test_lost_needs_a_reason(client, make_staff, deal):
    client = logged_in(client, make_staff("pemilik", OWNER))
    response = client.post(move_url(deal), {"stage": "lost", "lost_reason": "  "}, follow=True)
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION
    assert "Tuliskan alasan peluang ini batal." in response.content.decode()
    client.post(move_url(deal), {"stage": "lost", "lost_reason": "Harga terlalu tinggi"})
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (Stage.LOST, "Harga terlalu tinggi")


def test_a_viewer_is_refused_and_nothing_changes(client, make_staff, deal):
    client = logged_in(client, make_staff("lihat", VIEWER))
    assert client.post(move_url(deal), {"stage": "won"}).status_code == 403
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION
    # Nor is the viewer offered the buttons.
    html = client.get(change_url(deal)).content.decode()
    assert move_url(deal) not in html


def test_a_salesperson_moves_only_her_own_deals(client, make_staff, deal, make_opportunity):
    sari = make_staff("sari", SALES)
    hers = make_opportunity(title="Tas anyaman", owner=sari, stage=Stage.PROPOSAL)
    client = logged_in(client, sari)
    assert client.post(move_url(deal), {"stage": "won"}).status_code == 403
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION
    assert client.post(move_url(hers), {"stage": "won"}).status_code == 302
    hers.refresh_from_db()
    assert hers.stage == Stage.WON


def test_the_move_is_a_post_with_its_csrf_token(make_staff, deal):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("pemilik", OWNER))
    assert client.get(move_url(deal)).status_code == 405
    assert client.post(move_url(deal), {"stage": "won"}).status_code == 403
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION


def test_an_unknown_stage_or_deal_changes_nothing(client, make_staff, deal):
    client = logged_in(client, make_staff("pemilik", OWNER))
    client.post(move_url(deal), {"stage": "menang"})
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION
    assert client.post(reverse("admin:crm_opportunity_move", args=[999_999]),
                       {"stage": "won"}).status_code == 404


def test_the_deal_page_shows_the_customer_in_full_with_chat_and_the_stepper(
    client, make_staff, deal
):
    html = logged_in(client, make_staff("pemilik", OWNER)).get(change_url(deal)).content.decode()
    assert "Heru Prasetyo Wibowo" in html
    assert 'href="https://wa.me/6281200000000"' in html
    assert 'href="tel:+6281200000000"' in html
    assert "0812-0000-0000" in html
    assert 'aria-current="step"' in html
    assert 'name="lost_reason"' in html and "required" in html
    assert 'value="Rp 1.260.000"' in html
    assert 'inputmode="numeric"' in html


def test_a_won_deal_records_a_payment_from_the_record_payment_row(client, make_staff, deal):
    sari = make_staff("sari", SALES)
    deal.owner = sari
    deal.save()
    deal.move_to_stage(Stage.WON)
    client = logged_in(client, sari)
    page = client.get(change_url(deal) + "?record_payment=1")
    html = page.content.decode()
    assert "Sisa" in html and "Rp 1.260.000" in html
    formset = page.context["inline_admin_formsets"][0].formset
    assert formset.prefix == "payments" and len(formset.forms) == 1
    token = formset.forms[0]["form_token"].initial
    data = {
        "customer": deal.customer_id, "title": deal.title, "amount": "Rp 1.260.000",
        "stage": deal.stage, "fulfilment_status": deal.fulfilment_status,
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
        "payments-TOTAL_FORMS": "1", "payments-INITIAL_FORMS": "0",
        "payments-0-amount": "Rp 500.000", "payments-0-paid_on": "2026-11-20",
        "payments-0-method": "cash", "payments-0-form_token": token, "_continue": "1",
    }
    response = client.post(change_url(deal) + "?record_payment=1", data)
    assert response.status_code == 302, response.context["errors"]
    deal.refresh_from_db()
    assert (deal.amount_paid, deal.payment_status) == (500_000, PaymentStatus.DOWN_PAYMENT)
    assert deal.amount == 1_260_000


def test_the_history_page_reads_stages_and_amounts_in_the_users_words(client, make_staff, deal):
    owner = make_staff("pemilik", OWNER)
    client = logged_in(client, owner)
    client.post(move_url(deal), {"stage": "won"})
    deal.amount = 1_500_000
    deal.save()
    html = client.get(reverse("admin:crm_opportunity_history", args=[deal.pk])).content.decode()
    changes = " ".join(html.split())
    assert "<strong>Tahap:</strong> Negosiasi &nbsp;&rarr;&nbsp;&nbsp;Menang" in changes
    assert "Rp 1.260.000 &nbsp;&rarr;&nbsp;&nbsp;Rp 1.500.000" in changes
    assert "negotiation" not in html
