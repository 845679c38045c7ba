"""The outbox's one entry point, the one rule for a sendable number, and the
WhatsApp modules' layering (no circle)."""

import ast
import pathlib
import re

import pytest
from django.db import connection, transaction

from crm.models import Customer, Message
from crm.phones import SENDABLE_SHAPE, is_sendable
from crm.whatsapp import eligibility, outbox, sender, tasks
from crm.whatsapp.gateway import PERMANENT, GatewayError, MemoryBackend

Status = Message.Status


@pytest.fixture(autouse=True)
def _memory_backend():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


# --- One rule for a sendable number -------------------------------------------------


@pytest.mark.parametrize(("digits", "sendable"), [
    ("6281234567890", True),
    ("6591234567", True),  # Singapore: any valid number, not only Indonesian ones
    # Niue's 4-digit numbers: 7 digits in all. The old pattern of the outbox
    # (8 to 15 digits) refused it; phonenumbers, and so the rule, accept it.
    ("6834002", True),
    # 8 digits: the old pattern let it through, the gateway's isdigit too.
    # Typed, it is the local number 0262 812345, +62 262 812345: not this.
    ("62812345", False),
    # A local number stored as typed (written around the field): the old
    # pattern let it through to KirimWA; it is not the stored form.
    ("081234567890", False),
    ("0812", False),
    ("+6281234567890", False),
    ("6281234567890 ", False),
    ("６２８１２３４５６７８９０", False),
    ("", False),
    (None, False),
])
def test_a_sendable_number_is_one_normalize_phone_leaves_as_it_is(digits, sendable):
    assert is_sendable(digits) is sendable


@pytest.mark.parametrize("digits", ["6281234567890", "6591234567", "6834002", "12025550123"])
def test_every_sendable_number_has_the_shape_the_database_checks(digits):
    assert is_sendable(digits)
    assert re.fullmatch(SENDABLE_SHAPE, digits)


def raw_phone(customer, phone):
    """Store ``phone`` as it is, around the field's normalising (raw SQL, an old backup)."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Customer._meta.db_table} SET phone = %s WHERE id = %s",
                       [phone, customer.pk])
    customer.refresh_from_db()
    return customer


def test_a_number_of_the_right_shape_that_is_not_sendable_is_skipped_when_queued(
    make_customer
):
    good = make_customer(name="Dewi", phone="0812-3456-7890")
    short = raw_phone(make_customer(name="Sari"), "62812345")
    assert eligibility.skip_reason(short) == eligibility.SKIP_INVALID

    batch = outbox.queue_messages("Halo {nama}", by=None, customers=Customer.objects.all())

    assert (batch.queued_count, batch.skipped_count) == (1, 1)
    assert list(Message.objects.values_list("customer", flat=True)) == [good.pk]


def test_a_local_number_stored_as_typed_is_skipped_as_invalid(make_customer):
    local = raw_phone(make_customer(name="Budi"), "081234567890")

    plan = outbox.plan_messages("Halo", customers=Customer.objects.all())

    assert (plan.recipient_count, plan.skipped_count) == (0, 1)
    assert plan.skipped == [(local, eligibility.SKIP_INVALID)]
    batch = outbox.queue_messages("Halo", by=None, customers=Customer.objects.all())
    assert batch.pk is None and batch.skipped_count == 1


def test_when_no_number_is_sendable_after_all_no_batch_is_left(make_customer):
    raw_phone(make_customer(name="Sari"), "62812345")

    batch = outbox.queue_messages("Halo", by=None, customers=Customer.objects.all())

    assert batch.pk is None and (batch.queued_count, batch.skipped_count) == (0, 1)
    assert not Message.objects.exists()


def test_the_gateway_refuses_what_the_outbox_would_not_queue():
    with pytest.raises(GatewayError) as error:
        MemoryBackend().send_text("62812345", "Halo")
    assert error.value.kind == PERMANENT
    assert MemoryBackend.outbox == []


# --- One entry point: queue ---------------------------------------------------------


def test_queue_writes_a_message_with_an_event_key_once(make_customer):
    dewi = make_customer(name="Dewi")

    def reminder():
        return Message(customer=dewi, phone=dewi.phone, text="Halo", event_key="order 1 due")

    assert outbox.queue([reminder(), reminder()]) == 1
    assert outbox.queue([reminder()]) == 0
    assert Message.objects.get().status == Status.QUEUED


def test_a_duplicate_event_does_not_spoil_the_callers_transaction(make_customer):
    dewi = make_customer(name="Dewi")
    with transaction.atomic():
        outbox.queue([Message(customer=dewi, phone=dewi.phone, text="1", event_key="k")])
        outbox.queue([Message(customer=dewi, phone=dewi.phone, text="2", event_key="k")])
        dewi.name = "Dewi Lestari"
        dewi.save()  # would raise if the duplicate had broken the transaction
    assert list(Message.objects.values_list("text", flat=True)) == ["1"]


def test_queue_reads_any_number_of_messages_and_starts_sending_once(
    make_customer, django_capture_on_commit_callbacks
):
    dewi = make_customer(name="Dewi")
    messages = (Message(customer=dewi, phone=dewi.phone, text=str(n))
                for n in range(outbox.QUEUE_CHUNK + 5))

    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox.queue(messages) == outbox.QUEUE_CHUNK + 5

    assert callbacks == [tasks.start_sending]
    assert Message.objects.filter(status=Status.QUEUED).count() == outbox.QUEUE_CHUNK + 5


def test_queueing_nothing_starts_nothing(django_capture_on_commit_callbacks, db):
    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox.queue([]) == 0
    assert callbacks == []


# --- Layers: no circle --------------------------------------------------------------

WHATSAPP = pathlib.Path(sender.__file__).parent
# The modules the sending task runs: none may import the task's module, or
# what imports it (they start sending through crm.whatsapp.wake).
BENEATH_THE_TASK = ["sender", "pauses", "limits", "state", "wake", "eligibility", "gateway",
                    "templates"]
ABOVE_IT = {"tasks", "outbox", "notifications", "digests", "webhooks", "outlook"}


def imported_modules(name):
    """The crm.whatsapp modules ``name`` imports, at any level of its code."""
    tree = ast.parse((WHATSAPP / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "crm.whatsapp":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("crm.whatsapp."):
                found.add(node.module.removeprefix("crm.whatsapp."))
        elif isinstance(node, ast.Import):
            found |= {alias.name.removeprefix("crm.whatsapp.") for alias in node.names
                      if alias.name.startswith("crm.whatsapp.")}
    return found


@pytest.mark.parametrize("name", BENEATH_THE_TASK)
def test_the_modules_beneath_the_sending_task_do_not_import_it(name):
    assert imported_modules(name) & ABOVE_IT == set()


def test_no_whatsapp_module_imports_one_that_imports_it():
    names = [path.stem for path in WHATSAPP.glob("*.py") if path.stem != "__init__"]
    graph = {name: imported_modules(name) for name in names}

    def reaches(start, goal, seen=()):
        return any(dep == goal or (dep not in seen and reaches(dep, goal, (*seen, dep)))
                   for dep in graph.get(start, ()))

    assert [name for name in names if reaches(name, name)] == []
