"""Orders and payments on won opportunities, follow-ups, and the receivables figures."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crm.dashboard import build_dashboard, period_named
from crm.models import (
    Fulfilment,
    Opportunity,
    Payment,
    PaymentStatus,
    Stage,
    check_payments_together,
    rollups,
)

OPPORTUNITIES = reverse("admin:crm_opportunity_changelist")


def pay(opportunity, amount, **fields):
    payment = Payment(opportunity=opportunity, amount=amount, **fields)
    payment.full_clean()
    payment.save()
    opportunity.refresh_from_db()
    return payment


@pytest.fixture
def order(make_opportunity):
    deal = make_opportunity(amount=1_000_000, stage=Stage.NEGOTIATION)
    deal.move_to_stage(Stage.WON)
    return deal


def test_partial_payments_add_up_and_the_status_follows(order):
    assert (order.payment_status, order.amount_paid) == (PaymentStatus.UNPAID, 0)
    pay(order, 300_000, method=Payment.Method.CASH)
    assert (order.payment_status, order.amount_paid) == (PaymentStatus.DOWN_PAYMENT, 300_000)
    pay(order, 700_000, method=Payment.Method.QRIS)
    assert (order.payment_status, order.amount_paid) == (PaymentStatus.PAID, 1_000_000)
    order.payments.last().delete()
    order.refresh_from_db()
    assert (order.payment_status, order.amount_paid) == (PaymentStatus.DOWN_PAYMENT, 300_000)


def test_paying_more_than_the_order_is_refused_with_what_is_left(order):
    pay(order, 600_000)
    with pytest.raises(ValidationError, match="Rp 400.000"):
        pay(order, 500_000)
    assert order.amount_paid == 600_000 and order.payments.count() == 1


def test_payments_together_may_not_pay_more_than_the_order(order):
    check_payments_together(order, [400_000, 600_000])
    with pytest.raises(ValidationError, match="1.100.000"):
        check_payments_together(order, [500_000, 600_000])


@pytest.mark.parametrize("stage", [Stage.NEGOTIATION, Stage.LOST])
def test_only_a_won_opportunity_takes_payments(make_opportunity, stage):
    deal = make_opportunity(amount=500_000, stage=stage, lost_reason="Mahal")
    with pytest.raises(ValidationError, match="dimenangkan|won"):
        pay(deal, 100_000)
    assert not Payment.objects.exists()


def test_a_changed_amount_keeps_the_payment_status_true(order):
    pay(order, 1_000_000)
    assert order.payment_status == PaymentStatus.PAID
    order.amount = 1_500_000
    order.save()
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.DOWN_PAYMENT


def opportunity_form(opportunity, **fields):
    return {
        "customer": opportunity.customer_id, "title": opportunity.title,
        "amount": str(opportunity.amount), "stage": opportunity.stage,
        "fulfilment_status": opportunity.fulfilment_status,
        "stage_changes-TOTAL_FORMS": "0", "stage_changes-INITIAL_FORMS": "0",
        "payments-TOTAL_FORMS": "0", "payments-INITIAL_FORMS": "0",
        **fields,
    }


def payment_rows(*amounts):
    rows = {"payments-TOTAL_FORMS": str(len(amounts))}
    for i, amount in enumerate(amounts):
        rows.update({f"payments-{i}-paid_on": "2026-11-20", f"payments-{i}-amount": str(amount),
                     f"payments-{i}-method": "transfer"})
    return rows


def test_payments_are_recorded_on_the_opportunity_page(admin_client, admin_user, order):
    url = reverse("admin:crm_opportunity_change", args=[order.pk])
    response = admin_client.post(url, opportunity_form(order, **payment_rows(250_000)))
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.amount_paid, order.payment_status) == (250_000, PaymentStatus.DOWN_PAYMENT)
    assert order.payments.get().recorded_by == admin_user


def test_payments_that_together_overpay_are_refused_and_nothing_is_saved(admin_client, order):
    url = reverse("admin:crm_opportunity_change", args=[order.pk])
    response = admin_client.post(url, opportunity_form(order, **payment_rows(600_000, 600_000)))
    assert response.status_code == 200
    assert "Rp 1.200.000" in response.content.decode()
    assert not Payment.objects.exists()


# --- Follow-ups ----------------------------------------------------------------


def test_my_follow_ups_due_today_and_the_overdue_badge(
    client, django_user_model, make_opportunity
):
    today = timezone.localdate()
    sari = django_user_model.objects.create_superuser("sari", "sari@contoh.id", "x")
    budi = django_user_model.objects.create_user("budi")
    make_opportunity(title="Telepon lagi", owner=sari, next_step="Telepon",
                     next_step_date=today - datetime.timedelta(days=2))
    make_opportunity(title="Kirim sampel", owner=sari, next_step="Kirim sampel",
                     next_step_date=today)
    make_opportunity(title="Minggu depan", owner=sari, next_step="Rapat",
                     next_step_date=today + datetime.timedelta(days=7))
    make_opportunity(title="Punya Budi", owner=budi, next_step="Telepon",
                     next_step_date=today)
    won = make_opportunity(title="Sudah menang", owner=sari, next_step="Antar",
                           next_step_date=today, stage=Stage.WON)
    assert won.status == "won"
    client.force_login(sari)
    response = client.get(OPPORTUNITIES, {"follow_up": "mine_due"})
    assert {o.title for o in response.context["cl"].result_list} == {
        "Telepon lagi", "Kirim sampel",
    }
    assert "terlambat" in response.content.decode()


# --- Receivables on the dashboard ----------------------------------------------


def test_the_dashboard_shows_receivables_of_a_hand_built_set(admin_client, make_opportunity):
    today = timezone.localdate()

    def won(amount, paid, due, fulfilment):
        deal = make_opportunity(amount=amount, stage=Stage.NEGOTIATION)
        deal.move_to_stage(Stage.WON)
        deal.payment_due_date, deal.fulfilment_status = due, fulfilment
        deal.save(update_fields=["payment_due_date", "fulfilment_status"])
        if paid:
            pay(deal, paid)
        return deal

    late = won(1_000_000, 400_000, today - datetime.timedelta(days=1), Fulfilment.IN_PROGRESS)
    won(500_000, 500_000, today - datetime.timedelta(days=3), Fulfilment.DELIVERED)
    won(2_000_000, 0, today + datetime.timedelta(days=1), Fulfilment.DONE)
    make_opportunity(amount=9_000_000)  # open: not an order

    expected = (600_000 + 2_000_000, 1, 1)
    for everything in (None, Opportunity.objects.all()):  # the rollup, and live
        orders = build_dashboard(period_named("this_month"), everything).orders
        assert (orders["outstanding"], orders["in_progress"], orders["overdue"]) == expected
    assert rollups.differences() == []
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-figure="outstanding">Rp 2.600.000</span>' in html
    # The overdue figure links to exactly the late order.
    listed = admin_client.get(OPPORTUNITIES, {
        "status__exact": "won", "payment_status__in": "unpaid,down_payment",
        "payment_due_date__lt": today.isoformat(),
    })
    assert [o.pk for o in listed.context["cl"].result_list] == [late.pk]


def test_payments_and_order_changes_keep_the_dashboard_rollups(order):
    pay(order, 300_000)
    order.fulfilment_status = Fulfilment.DONE
    order.payment_due_date = timezone.localdate()
    order.save()
    pay(order, 700_000)
    order.payments.first().delete()
    order.move_to_stage(Stage.NEGOTIATION)  # reopened: no longer an order
    assert rollups.differences() == []
