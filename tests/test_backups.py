"""A backup restores into an empty database with the same data, readable by its owner only."""

import os
import stat

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command

from crm import backups
from crm.models import (
    ClosedDay,
    CreatedDay,
    Customer,
    MessageTemplate,
    Opportunity,
    Stage,
    StageChange,
    rollups,
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
        "users": list(
            get_user_model().objects.order_by("pk").values("username", "password", "groups__name")
        ),
        "admin log": list(LogEntry.objects.order_by("pk").values(
            "action_time", "user__username", "content_type__app_label", "content_type__model",
            "object_id", "object_repr", "action_flag", "change_message",
        )),
        "login records": list(AccessAttempt.objects.values("username", "failures_since_start"))
        + list(AccessLog.objects.values("username", "attempt_time")),
    }


@pytest.fixture
def shop(make_customer, make_opportunity, django_user_model):
    sari = django_user_model.objects.create_user("sari", password="rahasia-123")
    dewi = make_customer(name="Dewi 🌶️ Kripik", owner=sari, city="Blitar")
    deal = make_opportunity(customer=dewi, owner=sari, amount=1_500_000)
    deal.move_to_stage(Stage.WON, by=sari)
    make_opportunity(stage=Stage.LOST, lost_reason="Mahal")
    MessageTemplate.objects.create(name="Promo", text="Halo {nama}")
    sari.groups.add(Group.objects.create(name="Gudang"))
    LogEntry.objects.create(
        user=sari, content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(dewi.pk), object_repr=str(dewi), action_flag=ADDITION,
        change_message='[{"added": {}}]',
    )
    AccessLog.objects.create(username="sari", ip_address="10.0.0.2", user_agent="HP")
    AccessAttempt.objects.create(
        username="sari", ip_address="10.0.0.9", user_agent="HP", failures_since_start=2,
        get_data="", post_data="", http_accept="*/*", path_info="/admin/login/",
    )


def test_a_backup_restores_into_an_empty_database_with_the_same_data(tmp_path, shop):
    before = everything()
    path = backups.backup(tmp_path / backups.default_file_name())
    call_command("flush", interactive=False, verbosity=0)
    assert not Customer.objects.exists()

    call_command("restore", str(path), verbosity=0)

    assert everything() == before
    assert before["admin log"] and before["history"] and before["users"]
    assert before["login records"]
    assert rollups.differences() == []
    assert Customer.objects.get(city="Blitar").name == "Dewi 🌶️ Kripik"


def test_restoring_over_data_needs_to_be_asked_for(tmp_path, shop):
    path = backups.backup(tmp_path / backups.default_file_name())
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(path), verbosity=0)
    Customer.objects.filter(city="Blitar").update(city="Kediri")
    call_command("restore", str(path), "--replace", verbosity=0)
    assert Customer.objects.filter(city="Blitar").exists()


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_backup_is_readable_by_its_owner_only(tmp_path, shop, umask_022):
    path = backups.backup(tmp_path / backups.default_file_name())
    assert mode_of(path) == 0o600


def test_the_backup_command_replaces_a_readable_file_with_a_private_one(tmp_path, shop, umask_022):
    path = tmp_path / backups.default_file_name()
    path.write_text("old")
    path.chmod(0o644)
    call_command("backup", "--output", str(path), stdout=open(os.devnull, "w"))
    assert mode_of(path) == 0o600
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip


def test_a_failed_backup_leaves_the_previous_file_and_no_partial_one(
    tmp_path, shop, monkeypatch, umask_022
):
    path = tmp_path / backups.default_file_name()
    path.write_text("yesterday's backup")
    modes_while_writing = []

    def fail_halfway(output, *args):
        output.write(b"half a dump")
        partial = [name for name in os.listdir(tmp_path) if name != path.name]
        modes_while_writing.extend(mode_of(tmp_path / name) for name in partial)
        raise backups.BackupError("mysqldump failed: disk full")

    monkeypatch.setattr(backups, "_mysqldump", fail_halfway)
    monkeypatch.setattr(backups, "_dumpdata", fail_halfway)
    with pytest.raises(CommandError, match="disk full"):
        call_command("backup", "--output", str(path))
    assert modes_while_writing == [0o600]  # private from the first byte
    assert path.read_text() == "yesterday's backup"
    assert os.listdir(tmp_path) == [path.name]
