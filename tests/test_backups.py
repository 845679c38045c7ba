"""A backup restores into an empty database with the same data."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from crm import backups, rollups
from crm.models import (
    ClosedDay,
    CreatedDay,
    Customer,
    MessageTemplate,
    Opportunity,
    Stage,
    StageChange,
)

# The dump tools read committed data through their own connection.
pytestmark = pytest.mark.django_db(transaction=True)


def everything():
    """What a shop would miss after a bad restore."""
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "opportunities": list(Opportunity.objects.order_by("pk").values()),
        "stage changes": list(StageChange.objects.order_by("pk").values()),
        "templates": list(MessageTemplate.objects.order_by("pk").values()),
        "rollups": sorted(CreatedDay.objects.values_list("day", "owner_key", "stage", "count"))
        + sorted(ClosedDay.objects.values_list("day", "owner_key", "status", "count")),
        "history": Customer.history.count() + Opportunity.history.count(),
        "roles": sorted(
            (group.name, group.permissions.count()) for group in Group.objects.all()
        ),
    }


@pytest.fixture
def shop(make_customer, make_opportunity, django_user_model):
    sari = django_user_model.objects.create_user("sari", password="rahasia-123")
    dewi = make_customer(name="Dewi 🌶️ Kripik", owner=sari, city="Blitar")
    deal = make_opportunity(customer=dewi, owner=sari, amount=1_500_000)
    deal.move_to_stage(Stage.WON, by=sari)
    make_opportunity(stage=Stage.LOST, lost_reason="Mahal")
    MessageTemplate.objects.create(name="Promo", text="Halo {nama}")


def test_a_backup_restores_into_an_empty_database_with_the_same_data(tmp_path, shop):
    before = everything()
    path = backups.backup(tmp_path / backups.default_file_name())
    call_command("flush", interactive=False, verbosity=0)
    assert not Customer.objects.exists()

    call_command("restore", str(path), verbosity=0)

    assert everything() == before
    assert rollups.differences() == []
    assert Customer.objects.get(city="Blitar").name == "Dewi 🌶️ Kripik"


def test_restoring_over_data_needs_to_be_asked_for(tmp_path, shop):
    path = backups.backup(tmp_path / backups.default_file_name())
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(path), verbosity=0)
    Customer.objects.filter(city="Blitar").update(city="Kediri")
    call_command("restore", str(path), "--replace", verbosity=0)
    assert Customer.objects.filter(city="Blitar").exists()
