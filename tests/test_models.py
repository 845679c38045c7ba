import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from crm.models import Customer, Opportunity, Stage, StageChange, Status


def test_it_stores_the_phone_normalised(make_customer):
    customer = make_customer(phone="0812-3456-7890")
    customer.refresh_from_db()
    assert customer.phone == "6281234567890"


def test_it_stores_a_blank_phone_as_null_so_many_customers_can_have_none(make_customer):
    make_customer(phone="")
    make_customer(phone="  ")
    assert Customer.objects.filter(phone__isnull=True).count() == 2


def test_it_refuses_a_number_another_customer_has_in_another_format(make_customer):
    make_customer(phone="0812-3456-7890")
    duplicate = Customer(name="Sri", phone="+62 812 3456 7890")
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert "phone" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="Sri", phone="62812 3456 7890")


def test_it_rejects_an_invalid_phone_on_validation(db):
    customer = Customer(name="Sri", phone="081-234")
    with pytest.raises(ValidationError) as error:
        customer.full_clean()
    assert error.value.message_dict["phone"] == ["Nomor HP tidak valid: 081-234"]


def test_it_keeps_an_emoji_name_intact(make_customer):
    name = "Bu Sum 🌶️ Kripik Pedas 🔥"
    customer = make_customer(name=name, business_name="Kripik 😋")
    assert Customer.objects.get(pk=customer.pk).name == name
    assert Customer.objects.get(pk=customer.pk).business_name == "Kripik 😋"


def test_a_new_opportunity_is_open_and_records_its_first_stage(make_opportunity, admin_user):
    opportunity = Opportunity(
        customer=make_opportunity().customer, title="Batik 2 lembar", amount=700_000
    )
    opportunity.save(changed_by=admin_user)
    assert opportunity.status == Status.OPEN
    assert opportunity.closed_at is None
    change = opportunity.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == ("", "prospect", admin_user)


def test_winning_sets_closed_at_and_status(make_opportunity):
    opportunity = make_opportunity(stage=Stage.NEGOTIATION)
    opportunity.move_to_stage(Stage.WON)
    opportunity.refresh_from_db()
    assert opportunity.status == Status.WON
    assert opportunity.closed_at is not None


def test_losing_needs_a_reason(make_opportunity):
    opportunity = make_opportunity(stage=Stage.PROPOSAL)
    with pytest.raises(ValidationError) as error:
        opportunity.move_to_stage(Stage.LOST)
    assert "lost_reason" in error.value.message_dict
    opportunity.refresh_from_db()
    assert opportunity.stage == Stage.PROPOSAL


def test_the_database_also_refuses_a_lost_opportunity_without_reason(make_opportunity):
    opportunity = make_opportunity()
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(stage=Stage.LOST, lost_reason="")


def test_losing_with_a_reason_closes_it(make_opportunity):
    opportunity = make_opportunity()
    opportunity.move_to_stage(Stage.LOST, lost_reason="Harga terlalu mahal")
    opportunity.refresh_from_db()
    assert opportunity.status == Status.LOST
    assert opportunity.lost_reason == "Harga terlalu mahal"
    assert opportunity.closed_at is not None


def test_reopening_clears_closed_at_and_the_lost_reason(make_opportunity):
    opportunity = make_opportunity()
    opportunity.move_to_stage(Stage.LOST, lost_reason="Tidak ada kabar")
    opportunity.move_to_stage(Stage.NEGOTIATION)
    opportunity.refresh_from_db()
    assert opportunity.status == Status.OPEN
    assert opportunity.closed_at is None
    assert opportunity.lost_reason == ""


def test_saving_without_a_stage_change_keeps_closed_at(make_opportunity):
    opportunity = make_opportunity()
    opportunity.move_to_stage(Stage.WON)
    closed_at = Opportunity.objects.get(pk=opportunity.pk).closed_at
    reloaded = Opportunity.objects.get(pk=opportunity.pk)
    reloaded.amount = 900_000
    reloaded.save()
    reloaded.refresh_from_db()
    assert reloaded.closed_at == closed_at
    assert reloaded.stage_changes.count() == 2


def test_every_stage_change_is_recorded_with_who_made_it(make_opportunity, admin_user):
    opportunity = make_opportunity()
    for stage in [Stage.CONTACTED, Stage.PROPOSAL, Stage.WON]:
        opportunity.move_to_stage(stage, by=admin_user)
    reloaded = Opportunity.objects.get(pk=opportunity.pk)
    reloaded.title = "Kripik tempe 120 bungkus"
    reloaded.save()
    history = list(
        StageChange.objects.filter(opportunity=opportunity).values_list(
            "from_stage", "to_stage", "changed_by__username"
        )
    )
    assert history == [
        ("", "prospect", None),
        ("prospect", "contacted", admin_user.username),
        ("contacted", "proposal", admin_user.username),
        ("proposal", "won", admin_user.username),
    ]


def test_a_stage_change_on_a_row_loaded_without_its_stage_is_still_recorded(make_opportunity):
    opportunity = make_opportunity(stage=Stage.CONTACTED)
    partial = Opportunity.objects.only("pk", "title").get(pk=opportunity.pk)
    partial.stage = Stage.PROPOSAL
    partial.save()
    assert list(opportunity.stage_changes.values_list("to_stage", flat=True)) == [
        "contacted", "proposal"
    ]


def test_deleting_a_customer_with_opportunities_is_refused(make_opportunity):
    opportunity = make_opportunity()
    with pytest.raises(ProtectedError):
        opportunity.customer.delete()
    assert Customer.objects.filter(pk=opportunity.customer_id).exists()


def test_a_negative_amount_is_invalid(make_opportunity):
    opportunity = make_opportunity()
    opportunity.amount = -5
    with pytest.raises(ValidationError) as error:
        opportunity.full_clean()
    assert "amount" in error.value.message_dict


def test_the_amount_holds_a_trillion_rupiah(make_opportunity):
    opportunity = make_opportunity(amount=999_999_999_999)
    assert Opportunity.objects.get(pk=opportunity.pk).amount == 999_999_999_999


def test_it_remembers_since_when_an_opportunity_is_in_its_stage(make_opportunity):
    opportunity = make_opportunity()
    entered_prospect = opportunity.stage_changed_at
    opportunity.title = "Kripik tempe 200 bungkus"
    opportunity.save()
    assert Opportunity.objects.get(pk=opportunity.pk).stage_changed_at == entered_prospect
    opportunity.move_to_stage(Stage.CONTACTED)
    moved = Opportunity.objects.get(pk=opportunity.pk)
    assert moved.stage_changed_at > entered_prospect
    assert moved.stage_changed_at == moved.stage_changes.last().changed_at
