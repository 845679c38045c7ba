"""Automatic WhatsApp notifications, sent through the fake KirimWA server."""

import datetime
import threading
import zoneinfo

import pytest
from django.db import connection, connections
from django.utils import timezone

from crm.models import (
    Fulfilment,
    Message,
    MessageTemplate,
    NotificationRule,
    Payment,
    ScheduledRun,
    StaffProfile,
    Stage,
)
from crm.whatsapp import notifications, sender

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
Event = NotificationRule.Event


def rule(event, text, days=0, active=True):
    template = MessageTemplate.objects.create(name=f"{event} {days}", text=text)
    return NotificationRule.objects.create(event=event, template=template, days=days,
                                           active=active)


def run_the_worker():
    sender.send_due_messages()


@pytest.fixture
def deal(make_customer, make_opportunity):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890")
    return make_opportunity(customer=dewi, title="Kripik 50 bungkus", amount=1_500_000,
                            stage=Stage.NEGOTIATION)


def sent_texts(fake):
    return [(r["phone_number"], r["message"]) for r in fake.sent]


def test_winning_confirms_the_order_once_even_if_won_twice(kirimwa, deal):
    rule(Event.WON, "Terima kasih {nama}, pesanan {judul} ({nilai}) kami terima.")
    deal.move_to_stage(Stage.WON)
    deal.move_to_stage(Stage.NEGOTIATION)
    deal.move_to_stage(Stage.WON)
    run_the_worker()
    assert sent_texts(kirimwa) == [(
        "6281234567890",
        "Terima kasih Dewi, pesanan Kripik 50 bungkus (Rp 1.500.000) kami terima.",
    )]


def test_an_order_marked_done_and_a_payment_each_notify(kirimwa, deal):
    rule(Event.ORDER_DONE, "Pesanan Anda sudah selesai, {nama}.")
    rule(Event.PAYMENT_RECEIVED, "Terima kasih, {dibayar} diterima. Sisa {sisa}.")
    deal.move_to_stage(Stage.WON)
    deal.fulfilment_status = Fulfilment.DONE
    deal.save()
    deal.save()  # saved again, still done: no second message
    Payment.objects.create(opportunity=deal, amount=500_000)
    run_the_worker()
    assert sent_texts(kirimwa) == [
        ("6281234567890", "Pesanan Anda sudah selesai, Dewi."),
        ("6281234567890", "Terima kasih, Rp 500.000 diterima. Sisa Rp 1.000.000."),
    ]


def test_nothing_for_an_opted_out_customer_or_a_rule_switched_off(kirimwa, deal):
    rule(Event.ORDER_DONE, "Selesai", active=False)
    rule(Event.WON, "Terima kasih")
    deal.customer.whatsapp_opt_out = True
    deal.customer.save()
    deal.refresh_from_db()
    deal.move_to_stage(Stage.WON)
    deal.fulfilment_status = Fulfilment.DONE
    deal.save()
    run_the_worker()
    assert kirimwa.sent == [] and not Message.objects.exists()


def due_order(deal, due):
    deal.move_to_stage(Stage.WON)
    deal.payment_due_date = due
    deal.save(update_fields=["payment_due_date"])
    return deal


def test_reminders_go_on_their_day_in_jakarta_time_once(kirimwa, deal, settings):
    settings.WHATSAPP_DAILY_JOBS_AT = "00:00"
    rule(Event.PAYMENT_DUE, "{nama}, tagihan {sisa} jatuh tempo {jatuh_tempo}.", days=-3)
    rule(Event.PAYMENT_DUE, "{nama}, tagihan {sisa} lewat jatuh tempo.", days=1)
    today = datetime.date(2026, 12, 2)
    due_order(deal, datetime.date(2026, 12, 5))
    assert notifications.run_daily_jobs(today) == ["payment reminders", "digests"]
    assert notifications.run_daily_jobs(today) == []  # once a day
    # The day after the due date, the second reminder; a paid order gets none.
    assert notifications.send_payment_reminders(datetime.date(2026, 12, 6)) == 1
    Payment.objects.create(opportunity=deal, amount=1_500_000)
    assert notifications.send_payment_reminders(datetime.date(2026, 12, 2)) == 0
    run_the_worker()
    assert sent_texts(kirimwa) == [
        ("6281234567890", "Dewi, tagihan Rp 1.500.000 jatuh tempo 5 Desember 2026."),
        ("6281234567890", "Dewi, tagihan Rp 1.500.000 lewat jatuh tempo."),
    ]


def test_the_day_is_the_local_day(deal, settings, monkeypatch):
    settings.WHATSAPP_DAILY_JOBS_AT = "07:00"
    rule(Event.PAYMENT_DUE, "Tagihan {sisa}", days=0)
    due_order(deal, datetime.date(2026, 12, 5))
    # 23:30 UTC on 4 December is 06:30 on 5 December in Blitar: too early.
    early = datetime.datetime(2026, 12, 4, 23, 30, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: early)
    assert notifications.run_daily_jobs() == []
    # 00:30 UTC on 5 December is 07:30 there: the reminder of the due day goes.
    monkeypatch.setattr(timezone, "now", lambda: early + datetime.timedelta(hours=1))
    assert notifications.run_daily_jobs() == ["payment reminders", "digests"]
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_remind_once(deal, settings):
    if connection.vendor != "mysql":
        pytest.skip("needs a database server that several connections share (CI: MariaDB)")
    settings.WHATSAPP_DAILY_JOBS_AT = "00:00"
    rule(Event.PAYMENT_DUE, "Tagihan {sisa}", days=0)
    today = timezone.localdate()
    due_order(deal, today)
    results, start = [], threading.Barrier(2)

    def scheduler():
        try:
            start.wait()
            results.append(notifications.run_daily_jobs(today))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each job ran once, by one scheduler or the other.
    assert sorted(job for ran in results for job in ran) == ["digests", "payment reminders"]
    assert Message.objects.count() == 1 and ScheduledRun.objects.count() == 2


def test_each_salesperson_gets_a_digest_of_exactly_their_items(
    kirimwa, make_customer, make_opportunity, django_user_model
):
    today = datetime.date(2026, 12, 2)
    sari = django_user_model.objects.create_user("sari", first_name="Sari")
    budi = django_user_model.objects.create_user("budi", first_name="Budi")
    nobody = django_user_model.objects.create_user("tono")  # no number: no digest
    StaffProfile.objects.create(user=sari, whatsapp="6285711112222")
    StaffProfile.objects.create(user=budi, whatsapp="6285733334444")
    StaffProfile.objects.create(user=nobody, whatsapp="")
    dewi = make_customer(name="Dewi")
    rina = make_customer(name="Rina")
    make_opportunity(customer=dewi, owner=sari, next_step="Telepon",
                     next_step_date=today - datetime.timedelta(days=1))
    make_opportunity(customer=rina, owner=sari, next_step="Kirim sampel", next_step_date=today)
    make_opportunity(customer=rina, owner=sari, next_step="Nanti",
                     next_step_date=today + datetime.timedelta(days=1))  # not yet
    late = make_opportunity(customer=dewi, owner=sari, title="Batik", amount=800_000,
                            stage=Stage.NEGOTIATION)
    late.move_to_stage(Stage.WON)
    late.payment_due_date = today - datetime.timedelta(days=3)
    late.save(update_fields=["payment_due_date"])
    make_opportunity(customer=rina, owner=nobody, next_step="Telepon", next_step_date=today)

    assert notifications.send_digests(today) == 1  # Budi has nothing today
    assert notifications.send_digests(today) == 0  # once a day
    run_the_worker()
    assert sent_texts(kirimwa) == [("6285711112222", "\n".join([
        "Selamat pagi, Sari!",
        "Tindak lanjut hari ini (2):",
        "- Dewi: Telepon (terlambat)",
        "- Rina: Kirim sampel",
        "Pembayaran terlambat (1):",
        "- Dewi: Batik, sisa Rp 800.000",
    ]))]
