"""Every message ends in a known state (issue 16, point 1).

Each cause of an unknown outcome is produced by the fake KirimWA over HTTP
(tests/fake_kirimwa.py), and the message is followed until it is settled:
by KirimWA's message list (matched by number and text around the send
time), its status endpoint, its webhook, or, with no trace after
NOT_RECEIVED_AFTER, as "not received by KirimWA", which the owner may resend
after one confirmation.
"""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, Message, SendingState
from crm.whatsapp import outbox, sender
from crm.whatsapp.gateway import MemoryBackend

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
MESSAGES_URL = reverse("admin:crm_message_changelist")
Status = Message.Status
Reason = Message.Reason
PHONE = "6281234567890"


@pytest.fixture(autouse=True)
def _memory_backend():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


@pytest.fixture
def dewi(make_customer):
    return make_customer(name="Dewi", phone="0812-3456-7890")


def queue(customer, text="Halo {nama}, kripik baru!"):
    batch = outbox.queue_messages(text, by=None, customers=Customer.objects.filter(pk=customer.pk))
    batch.messages.update(send_after=datetime.datetime(2026, 1, 1, tzinfo=JAKARTA))
    return batch.messages.get()


def posts(fake):
    return [r for r in fake.requests if r["method"] == "POST"]


def after(minutes):
    later = timezone.now() + datetime.timedelta(minutes=minutes)
    return lambda: later


@pytest.mark.parametrize("mode", ["hang", "500_accepted", "drop_accepted", "201_without_id"])
def test_a_message_kirimwa_got_is_settled_by_its_list_whatever_the_answer_was(
    kirimwa, dewi, mode
):
    message = queue(dewi)
    kirimwa.hang_seconds = 1
    kirimwa.fail_next(mode)
    sender.send_due_messages()
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.gateway_id == kirimwa.sent[0]["id"]
    assert message.reference.startswith(f"crm-{message.pk}-")
    assert len(posts(kirimwa)) == 1
    assert [r["path"] for r in kirimwa.requests if r["method"] == "GET"] == ["/v1/messages"]


@pytest.mark.parametrize("mode", ["500", "drop", "garbage"])
def test_a_message_kirimwa_never_got_ends_as_not_received(kirimwa, dewi, mode):
    message = queue(dewi)
    kirimwa.fail_next(mode)
    sender.send_due_messages()
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN  # not in the list yet: it may still appear
    sender.send_due_messages(clock=after(10))
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN
    sender.send_due_messages(clock=after(31))
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.FAILED, Reason.NOT_RECEIVED)
    assert message.reference in message.error
    assert len(posts(kirimwa)) == 1  # never resent by itself
    assert kirimwa.sent == []


def test_a_worker_killed_after_sending_leaves_a_message_its_list_settles(kirimwa, dewi):
    message = queue(dewi)
    claimed_at = timezone.now() - datetime.timedelta(minutes=3)
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claimed_at=claimed_at, attempts=1, reference="crm-x-1"
    )
    # The request reached KirimWA just before the worker died.
    gateway_id = kirimwa.queue(PHONE, message.text, created_at=claimed_at)
    sender.send_due_messages()
    message.refresh_from_db()
    assert (message.status, message.gateway_id) == (Status.DELIVERED, gateway_id)
    assert posts(kirimwa) == []


def test_a_worker_killed_before_sending_leaves_a_message_not_received(kirimwa, dewi):
    message = queue(dewi)
    claimed_at = timezone.now() - datetime.timedelta(minutes=3)
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claimed_at=claimed_at, attempts=1
    )
    sender.send_due_messages()
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.UNKNOWN, Reason.WORKER_STOPPED)
    sender.send_due_messages(clock=after(30))
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.FAILED, Reason.NOT_RECEIVED)


def test_the_list_is_read_page_by_page_back_to_the_send_time(kirimwa, dewi, monkeypatch):
    message = queue(dewi)
    kirimwa.hang_seconds = 1
    kirimwa.fail_next("hang")
    with monkeypatch.context() as patch:
        patch.setattr(sender, "settle_unknown", lambda backend, now, limit=100: None)
        sender.send_due_messages()
    # 45 other messages went out after ours: it is on the list's third page.
    for number in range(45):
        kirimwa.queue(f"62857000000{number:02d}", "Promo lain")
    sender.send_due_messages()
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    pages = [r["path"] for r in kirimwa.requests if r["path"].startswith("/v1/messages?")]
    assert len(pages) == 2  # and the first page, without a start_key
    assert message.gateway_id == kirimwa.sent[0]["id"]


def test_a_message_with_a_thousand_sent_after_it_is_still_found_on_the_list(kirimwa, dewi):
    message = queue(dewi)
    claimed_at = timezone.now() - datetime.timedelta(minutes=3)
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claimed_at=claimed_at, attempts=1, reference="crm-x-1"
    )
    gateway_id = kirimwa.queue(PHONE, message.text, created_at=claimed_at)
    for number in range(1000):  # sent by the other workers before anyone asked
        kirimwa.queue(f"6285700{number:05d}", "Promo lain")
    sender.send_due_messages(clock=after(31))  # past NOT_RECEIVED_AFTER
    message.refresh_from_db()
    assert (message.status, message.gateway_id) == (Status.DELIVERED, gateway_id)


def test_the_same_text_to_the_same_number_is_matched_once(kirimwa, dewi):
    first = queue(dewi)
    sender.send_due_messages()
    first.refresh_from_db()
    assert first.status == Status.SENT
    second = queue(dewi)
    kirimwa.fail_next("500")  # this one never reached KirimWA
    sender.send_due_messages()
    sender.send_due_messages(clock=after(31))
    second.refresh_from_db()
    # The first message's entry in KirimWA's list is not taken for the second.
    assert (second.status, second.reason) == (Status.FAILED, Reason.NOT_RECEIVED)


def test_a_message_sent_outside_the_send_time_window_is_not_taken_for_ours(kirimwa, dewi):
    message = queue(dewi)
    kirimwa.fail_next("500")
    sender.send_due_messages()
    # The same text to the same number, but two hours earlier (another day's offer).
    kirimwa.queue(PHONE, message.text,
                  created_at=timezone.now() - datetime.timedelta(hours=2))
    sender.send_due_messages(clock=after(31))
    message.refresh_from_db()
    assert message.reason == Reason.NOT_RECEIVED


def test_a_lookup_that_fails_proves_nothing(kirimwa, settings, dewi):
    message = queue(dewi)
    kirimwa.fail_next("500")
    sender.send_due_messages()
    settings.KIRIMWA_API_URL = "http://127.0.0.1:9/v1"  # KirimWA unreachable from now on
    sender.send_due_messages(clock=after(40))
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN
    settings.KIRIMWA_API_URL = kirimwa.url
    sender.send_due_messages(clock=after(50))
    message.refresh_from_db()
    assert message.reason == Reason.NOT_RECEIVED


def test_a_list_that_cannot_be_read_leaves_the_webhook_to_decide_within_2_hours(
    kirimwa, settings, dewi
):
    message = queue(dewi)
    kirimwa.fail_next("500")
    sender.send_due_messages()
    settings.KIRIMWA_API_URL = "http://127.0.0.1:9/v1"  # KirimWA unreachable from now on
    sender.send_due_messages(clock=after(110))
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN
    sender.send_due_messages(clock=after(121))
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.FAILED, Reason.NOT_RECEIVED)
    assert "list could not be read" in message.error


def test_an_unknown_message_with_an_id_is_settled_by_its_status(kirimwa, dewi):
    message = queue(dewi)
    sender.send_due_messages()
    message.refresh_from_db()
    kirimwa.set_status(message.gateway_id, "fail")
    Message.objects.filter(pk=message.pk).update(status=Status.UNKNOWN, checked_at=None)
    sender.send_due_messages()
    message.refresh_from_db()
    assert (message.status, message.reason) == (Status.FAILED, Reason.UNDELIVERABLE)
    assert message.error == "Phone number is not on WhatsApp"
    assert kirimwa.requests[-1]["path"] == f"/v1/messages/{message.gateway_id}"


def test_a_webhook_settles_an_unknown_message_by_number_and_text(
    client, kirimwa, dewi, monkeypatch
):
    message = queue(dewi)
    kirimwa.fail_next("500_accepted")
    with monkeypatch.context() as patch:  # the webhook comes before any lookup
        patch.setattr(sender, "settle_unknown", lambda backend, now, limit=100: None)
        sender.send_due_messages()
    message.refresh_from_db()
    assert (message.status, message.gateway_id) == (Status.UNKNOWN, "")
    gateway_id = kirimwa.sent[0]["id"]
    report = {
        "webhook_type": "send_message_response", "id": gateway_id, "status": "success",
        "message": "Message sent",
        "payload": {"phone_number": PHONE, "message": message.text,
                    "device_id": kirimwa.device_id, "message_type": "text"},
    }
    url = reverse("kirimwa_webhook", args=["webhook-secret-for-tests"])
    assert client.post(url, report, content_type="application/json").status_code == 200
    message.refresh_from_db()
    assert (message.status, message.gateway_id) == (Status.DELIVERED, gateway_id)


def test_a_message_not_received_gives_its_place_in_the_daily_cap_back(settings, kirimwa, dewi):
    settings.WHATSAPP_DAILY_CAP = 5
    message = queue(dewi)
    kirimwa.fail_next("500")
    noon = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=JAKARTA)
    sender.send_due_messages(clock=lambda: noon)
    assert SendingState.objects.get().sent_on_day == 1  # it may have reached KirimWA
    sender.send_due_messages(clock=lambda: noon + datetime.timedelta(minutes=31))
    message.refresh_from_db()
    assert message.reason == Reason.NOT_RECEIVED
    assert SendingState.objects.get().sent_on_day == 0


def test_the_owner_resends_a_message_not_received_after_one_confirmation(
    admin_client, kirimwa, dewi, django_capture_on_commit_callbacks
):
    message = queue(dewi)
    kirimwa.fail_next("drop")
    sender.send_due_messages()
    sender.send_due_messages(clock=after(31))
    message.refresh_from_db()
    assert message.reason == Reason.NOT_RECEIVED
    log = admin_client.get(MESSAGES_URL).content.decode()
    assert "Tidak diterima KirimWA" in log
    action = {"action": "requeue_messages", "_selected_action": [message.pk]}
    page = admin_client.post(MESSAGES_URL, action)
    assert page.status_code == 200
    assert "bisa menerimanya dua kali" in page.content.decode()
    message.refresh_from_db()
    assert message.status == Status.FAILED  # nothing resent before the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(MESSAGES_URL, {**action, "confirm": "1", "index": "0"})
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert [m["phone_number"] for m in kirimwa.sent] == [PHONE]
