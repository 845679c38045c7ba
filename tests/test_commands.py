from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from crm.demo_data import demo_phone
from crm.models import Customer, MessageTemplate, Opportunity, Stage, StageChange, Status
from crm.phones import normalize_phone


def test_seed_adds_the_counts_asked_for_with_valid_unique_numbers(db):
    call_command("seed", customers=40, opportunities=90, batch_size=25, verbosity=0)
    assert Customer.objects.count() == 40
    assert Opportunity.objects.count() == 90
    phones = [p for p in Customer.objects.values_list("phone", flat=True) if p]
    assert len(phones) == len(set(phones))
    assert all(normalize_phone(phone) == phone for phone in phones)


def test_seed_can_run_twice_without_duplicate_numbers(db):
    call_command("seed", customers=30, opportunities=10, verbosity=0)
    call_command("seed", customers=30, opportunities=10, verbosity=0)
    assert Customer.objects.count() == 60


def test_seeded_opportunities_follow_the_stage_rules(db):
    call_command("seed", customers=20, opportunities=200, with_history=True, verbosity=0)
    for opportunity in Opportunity.objects.all():
        opportunity.full_clean()
        assert (opportunity.closed_at is None) == (opportunity.status == Status.OPEN)
        history = list(opportunity.stage_changes.values_list("to_stage", flat=True))
        assert history[-1] == opportunity.stage
    assert set(Opportunity.objects.values_list("stage", flat=True)) == set(Stage.values)


def test_demo_numbers_are_valid_and_distinct():
    numbers = [demo_phone(i) for i in range(0, 5000, 7)]
    assert len(set(numbers)) == len(numbers)
    assert all(normalize_phone(n) == n for n in numbers)


def test_the_demo_data_loads_with_its_newest_activity_today(db):
    call_command("load_demo", verbosity=0)
    assert Customer.objects.count() >= 50
    assert set(Opportunity.objects.values_list("stage", flat=True)) == set(Stage.values)
    newest = StageChange.objects.aggregate(newest=Max("changed_at"))["newest"]
    assert timezone.now() - newest < timedelta(days=1)
    oldest = Opportunity.objects.order_by("created_at").first().created_at
    assert timedelta(days=300) < timezone.now() - oldest < timedelta(days=400)
    assert Customer.objects.filter(city="Blitar").exists()


def test_the_demo_data_has_valid_whatsapp_templates_for_offers_orders_and_payments(db):
    call_command("load_demo", verbosity=0)
    templates = {t.name: t for t in MessageTemplate.objects.all()}
    assert set(templates) == {
        "Penawaran produk", "Kabar pesanan", "Pengingat pembayaran", "Kuitansi pembayaran"
    }
    for template in templates.values():
        template.full_clean()  # every placeholder known
    assert "{nilai}" in templates["Pengingat pembayaran"].text


def test_the_demo_data_is_loaded_only_into_an_empty_crm(make_customer):
    make_customer(name="Pelanggan asli")
    call_command("load_demo", verbosity=0)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Pelanggan asli"]


def test_the_demo_admin_is_refused_in_production(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("create_demo_admin", verbosity=0)


def test_the_demo_admin_can_log_in(db, client, settings):
    settings.DEBUG = True
    call_command("create_demo_admin", verbosity=0)
    call_command("create_demo_admin", verbosity=0)  # a second run changes nothing
    # Through the login page, as a newcomer would (login protection sees it).
    response = client.post(reverse("admin:login"), {
        "username": "demo", "password": "umkm-blitar-demo", "next": reverse("admin:index"),
    })
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).context["user"].username == "demo"
