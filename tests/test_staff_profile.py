"""A user's own WhatsApp number (the morning digest's): stored normalised, blank as NULL."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.forms import modelform_factory

from crm.models import StaffProfile

# The user admin's inline edits these fields of the profile.
ProfileForm = modelform_factory(StaffProfile, fields=["whatsapp", "daily_digest"])


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("sari")


def test_the_number_is_stored_normalised_and_blank_as_null(user):
    form = ProfileForm({"whatsapp": "0812-3456-7890", "daily_digest": "on"},
                       instance=StaffProfile(user=user))
    assert form.is_valid(), form.errors
    assert form.save().whatsapp == "6281234567890"
    form = ProfileForm({"whatsapp": "", "daily_digest": "on"},
                       instance=StaffProfile.objects.get(user=user))
    assert form.is_valid(), form.errors
    assert StaffProfile.objects.get(pk=form.save().pk).whatsapp is None


def test_an_unreadable_number_is_refused_on_the_field(user):
    form = ProfileForm({"whatsapp": "nomor saya", "daily_digest": "on"},
                       instance=StaffProfile(user=user))
    assert not form.is_valid() and list(form.errors) == ["whatsapp"]
    with pytest.raises(ValidationError) as error:
        StaffProfile(user=user, whatsapp="123").full_clean()
    assert list(error.value.message_dict) == ["whatsapp"]


def test_the_migration_normalises_stored_numbers_and_drops_unreadable_ones(
    django_user_model,
):
    migration = importlib.import_module("crm.migrations.0026_staffprofile_whatsapp_number")
    table = connection.ops.quote_name(StaffProfile._meta.db_table)
    numbers = {"sari": "0812 3456 7890", "budi": "6281234567891", "dewi": "bukan nomor",
               "tono": ""}
    for username, number in numbers.items():
        profile = StaffProfile.objects.create(user=django_user_model.objects.create_user(username))
        # As stored before the field normalised (which any ORM write now does).
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET whatsapp = %s WHERE id = %s", [number, profile.pk])

    migration.normalise_numbers(apps, SimpleNamespace(connection=connection))

    assert dict(StaffProfile.objects.values_list("user__username", "whatsapp")) == {
        "sari": "6281234567890", "budi": "6281234567891", "dewi": None, "tono": None,
    }
