import itertools

import pytest

from crm.demo_data import demo_phone
from crm.models import Customer, Opportunity

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    """Each test starts with an empty per-process cache (the dashboard's
    alert state lives there a few seconds)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_staff(db, django_user_model):
    """Create a staff user in ``role`` (crm/roles.py: OWNER, SALES, VIEWER), or in none."""
    from django.contrib.auth.models import Group

    def make(username, role=None, **fields):
        user = django_user_model.objects.create_user(username, is_staff=True, **fields)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def owner_client(client, make_staff):
    """The test client logged in as a shop owner (role Pemilik)."""
    from crm.roles import OWNER

    client.force_login(make_staff("pemilik", OWNER))
    return client


@pytest.fixture
def make_customer(db):
    """Build and save a customer; every call gets a distinct valid number."""

    def make(**fields):
        fields.setdefault("name", "Siti Rahayu")
        fields.setdefault("phone", demo_phone(next(_numbers)))
        return Customer.objects.create(**fields)

    return make


@pytest.fixture
def make_opportunity(make_customer):
    def make(**fields):
        if "customer" not in fields:
            fields["customer"] = make_customer()
        fields.setdefault("title", "Kripik tempe 100 bungkus")
        fields.setdefault("amount", 800_000)
        opportunity = Opportunity(**fields)
        opportunity.save()
        return opportunity

    return make


@pytest.fixture
def fake_kirimwa():
    """A running fake KirimWA server (tests/fake_kirimwa.py), stopped afterwards."""
    from tests.fake_kirimwa import FakeKirimWA

    with FakeKirimWA() as fake:
        yield fake


@pytest.fixture
def kirimwa(settings, fake_kirimwa):
    """Send through the real KirimWA client (crm.whatsapp.gateway) to the fake server."""
    settings.WHATSAPP_BACKEND = "crm.whatsapp.gateway.KirimWABackend"
    settings.KIRIMWA_API_URL = fake_kirimwa.url
    settings.KIRIMWA_API_TOKEN = fake_kirimwa.token
    settings.KIRIMWA_DEVICE_ID = fake_kirimwa.device_id
    # Short, so the tests of timeouts are quick.
    settings.KIRIMWA_READ_TIMEOUT = 0.5
    settings.KIRIMWA_CONNECT_TIMEOUT = 0.5
    return fake_kirimwa
