"""WhatsApp: templates, bulk sends through the admin, the sender, and the webhook.

End-to-end tests send through the real KirimWA client to the fake KirimWA
server (tests/fake_kirimwa.py) over HTTP.
"""

import datetime
import threading
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, Message, MessageBatch, MessageTemplate, SendingState
from crm.whatsapp import outbox, sender
from crm.whatsapp.gateway import MemoryBackend
from crm.whatsapp.templates import check_placeholders, render

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
CUSTOMERS_URL = reverse("admin:crm_customer_changelist")
OPPORTUNITIES_URL = reverse("admin:crm_opportunity_changelist")
MESSAGES_URL = reverse("admin:crm_message_changelist")
Status = Message.Status


@pytest.fixture(autouse=True)
def _memory_backend():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


@pytest.fixture
def shop(make_customer):
    """Three customers who can get messages, one opted out, one without a number."""
    return {
        "dewi": make_customer(name="Dewi", phone="0812-3456-7890", city="Blitar"),
        "sari": make_customer(name="Sari", phone="+62 857 1111 2222", city="Wlingi"),
        "budi": make_customer(name="Budi", phone="62813 5555 6666", business_name="Batik Budi"),
        "tono": make_customer(name="Tono", phone="0812-9999-0000", whatsapp_opt_out=True),
        "ani": make_customer(name="Ani", phone=None),
    }


def action_post(client, url, ids, **data):
    return client.post(url, {"action": "send_whatsapp", "_selected_action": ids, **data})


# --- Templates -----------------------------------------------------------------


def test_placeholders_work_in_indonesian_and_english(make_customer, make_opportunity):
    customer = make_customer(name="Dewi", business_name="Kripik Dewi", city="Blitar")
    opportunity = make_opportunity(customer=customer, title="Kripik 50 bungkus", amount=1_500_000)
    text = "Halo {nama} ({business}) di {kota}: {judul}, {nilai}. {name}/{title}/{amount}"
    assert render(text, customer, opportunity) == (
        "Halo Dewi (Kripik Dewi) di Blitar: Kripik 50 bungkus, Rp 1.500.000. "
        "Dewi/Kripik 50 bungkus/Rp 1.500.000"
    )


def test_an_unknown_placeholder_is_an_error_when_the_template_is_saved(db):
    template = MessageTemplate(name="Promo", text="Halo {nma}, ada promo!")
    with pytest.raises(ValidationError, match=r"\{nma\}"):
        template.full_clean()


def test_opportunity_placeholders_need_an_opportunity():
    check_placeholders("Tagihan {judul}: {nilai}")  # fine for the opportunity list
    with pytest.raises(ValidationError, match="daftar peluang"):
        check_placeholders("Tagihan {judul}", for_opportunities=False)


def test_the_template_admin_shows_the_placeholder_error(admin_client):
    response = admin_client.post(
        reverse("admin:crm_messagetemplate_add"), {"name": "Promo", "text": "Halo {nma}"}
    )
    assert response.status_code == 200
    assert not MessageTemplate.objects.exists()
    assert "{nma}" in response.content.decode()


# --- Bulk sends through the admin ----------------------------------------------


def test_the_confirmation_page_shows_recipients_previews_and_who_is_skipped(admin_client, shop):
    ids = [c.pk for c in shop.values()]
    response = action_post(
        admin_client, CUSTOMERS_URL, ids, text="Halo {nama} di {kota}!", preview="1"
    )
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.recipient_count == 3 and plan.skipped_count == 2
    assert {(c.name, str(reason)) for c, reason in plan.skipped} == {
        ("Tono", "menolak pesan WhatsApp"), ("Ani", "tidak ada nomor WhatsApp"),
    }
    html = response.content.decode()
    assert "Halo Dewi di Blitar!" in html
    assert not Message.objects.exists()  # nothing queued before "Send"


def test_a_bulk_send_goes_end_to_end_through_kirimwa(
    admin_client, shop, kirimwa, django_capture_on_commit_callbacks
):
    ids = [c.pk for c in shop.values()]
    with django_capture_on_commit_callbacks(execute=True):
        response = action_post(
            admin_client, CUSTOMERS_URL, ids, text="Halo {nama}, kripik baru!", confirm="1"
        )
    assert response.status_code == 302
    batch = MessageBatch.objects.get()
    assert (batch.queued_count, batch.skipped_count) == (3, 2)
    # The worker (run at once by the test task backend) sent exactly these.
    received = sorted((r["phone_number"], r["message"]) for r in kirimwa.sent)
    assert received == [
        ("6281234567890", "Halo Dewi, kripik baru!"),
        ("6281355556666", "Halo Budi, kripik baru!"),
        ("6285711112222", "Halo Sari, kripik baru!"),
    ]
    assert all(r["body"]["device_id"] == kirimwa.device_id for r in kirimwa.requests)
    messages = Message.objects.order_by("phone")
    assert [m.status for m in messages] == [Status.SENT] * 3
    assert {m.gateway_id for m in messages} == {r["id"] for r in kirimwa.sent}
    # The log page lists them.
    listed = admin_client.get(MESSAGES_URL, {"batch__id__exact": batch.pk})
    assert len(listed.context["cl"].result_list) == 3


def test_select_all_sends_to_every_filtered_customer(
    admin_client, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(CUSTOMERS_URL + "?city=Blitar", {
            "action": "send_whatsapp", "select_across": "1", "index": "0",
            "_selected_action": [shop["dewi"].pk], "text": "Halo {nama}", "confirm": "1",
        })
    assert [text for _phone, text, _id in MemoryBackend.outbox] == ["Halo Dewi"]


def test_opportunities_send_to_their_customers_with_the_deal_s_placeholders(
    admin_client, shop, make_opportunity, django_capture_on_commit_callbacks
):
    deal = make_opportunity(customer=shop["dewi"], title="Batik tulis", amount=2_750_000)
    with django_capture_on_commit_callbacks(execute=True):
        action_post(admin_client, OPPORTUNITIES_URL, [deal.pk],
                    text="Tagihan {judul}: {nilai}", confirm="1")
    assert MemoryBackend.outbox[0][:2] == ("6281234567890", "Tagihan Batik tulis: Rp 2.750.000")
    assert Message.objects.get().opportunity == deal


def test_a_template_fills_the_text(admin_client, shop):
    template = MessageTemplate.objects.create(name="Promo", text="Promo untuk {nama}")
    response = action_post(admin_client, CUSTOMERS_URL, [shop["dewi"].pk],
                           template=template.pk, text="", preview="1")
    assert response.context["form"]["text"].value() == "Promo untuk {nama}"
    assert "Promo untuk Dewi" in response.content.decode()


def test_one_customer_from_their_page(admin_client, shop, django_capture_on_commit_callbacks):
    dewi = shop["dewi"]
    change = admin_client.get(reverse("admin:crm_customer_change", args=[dewi.pk]))
    url = reverse("admin:crm_customer_send_whatsapp", args=[dewi.pk])
    assert url in change.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"text": "Pesanan {nama} siap", "confirm": "1"})
    assert response.status_code == 302
    assert [text for _phone, text, _id in MemoryBackend.outbox] == ["Pesanan Dewi siap"]
    page = admin_client.get(reverse("admin:crm_customer_change", args=[dewi.pk]))
    assert "Pesanan Dewi siap" in page.content.decode()  # the customer's latest messages


def test_sending_needs_its_own_permission(client, django_user_model, shop):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_customer", "change_customer", "view_all_records"]
        )
    )
    client.force_login(clerk)
    action_form = client.get(CUSTOMERS_URL).context["action_form"]
    offered = [name for name, _label in action_form.fields["action"].choices] \
        if action_form else []
    assert "send_whatsapp" not in offered
    url = reverse("admin:crm_customer_send_whatsapp", args=[shop["dewi"].pk])
    assert client.post(url, {"text": "x", "confirm": "1"}).status_code == 403
    action_post(client, CUSTOMERS_URL, [shop["dewi"].pk], text="x", confirm="1")
    assert not Message.objects.exists()
    clerk.user_permissions.add(Permission.objects.get(codename="send_whatsapp"))
    assert client.get(url).status_code == 200


def test_the_message_log_is_read_only(admin_client, shop):
    batch = outbox.queue_messages("Halo", by=None, customers=Customer.objects.all())
    message = batch.messages.first()
    assert admin_client.get(reverse("admin:crm_message_add")).status_code == 403
    page = admin_client.get(reverse("admin:crm_message_change", args=[message.pk]))
    assert page.status_code == 200 and "submit" not in page.context["adminform"].form.fields


# --- The sender --------------------------------------------------------------


def queue(customers, text="Halo {nama}"):
    batch = outbox.queue_messages(text, by=None, customers=customers)
    # Due since long ago, so tests may run the sender at any moment they pick.
    batch.messages.update(send_after=datetime.datetime(2026, 1, 1, tzinfo=JAKARTA))
    return batch


def statuses():
    return sorted(Message.objects.values_list("status", flat=True))


@pytest.mark.parametrize(
    "mode, status",
    [
        # A refused token or device pauses sending: the message waits
        # (tests/test_whatsapp_pauses.py).
        ("401", Status.QUEUED),
        ("404_device", Status.QUEUED),
        ("429", Status.QUEUED),
        ("503", Status.QUEUED),
        # Not in KirimWA's list (yet): unknown until NOT_RECEIVED_AFTER
        # (tests/test_whatsapp_settling.py).
        ("500", Status.UNKNOWN),
        ("garbage", Status.UNKNOWN),
        # KirimWA queued it before hanging: its list settles it at once.
        ("hang", Status.DELIVERED),
        ("drop", Status.UNKNOWN),
    ],
)
def test_each_gateway_failure_gets_the_status_that_makes_a_resend_safe(
    kirimwa, make_customer, mode, status
):
    customer = make_customer(phone="0812-3456-7890")
    queue(Customer.objects.filter(pk=customer.pk))
    kirimwa.hang_seconds = 1
    kirimwa.fail_next(mode)
    sender.send_due_messages()
    message = Message.objects.get()
    assert message.status == status
    assert message.error or status == Status.DELIVERED
    posts = [r for r in kirimwa.requests if r["method"] == "POST"]
    assert len(posts) == 1  # never resent within the run


def test_a_refusal_to_connect_is_retried_after_a_backoff(settings, make_customer, kirimwa):
    settings.KIRIMWA_API_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    queue(Customer.objects.filter(pk=make_customer().pk))
    started = datetime.datetime.now(datetime.UTC)
    wake = sender.send_due_messages()
    message = Message.objects.get()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert message.send_after >= started + datetime.timedelta(seconds=59)
    assert wake == message.send_after
    # After the backoff, the gateway is back: sent once.
    settings.KIRIMWA_API_URL = kirimwa.url
    later = message.send_after + datetime.timedelta(seconds=1)
    sender.send_due_messages(clock=lambda: later)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert len(kirimwa.sent) == 1


def test_a_temporary_refusal_is_given_up_after_the_last_attempt(settings, make_customer):
    settings.WHATSAPP_MAX_ATTEMPTS = 2
    queue(Customer.objects.filter(pk=make_customer().pk))
    MemoryBackend.fail_next("retryable", times=5)
    now = datetime.datetime.now(datetime.UTC)
    for minutes in (0, 10):
        sender.send_due_messages(clock=lambda m=minutes: now + datetime.timedelta(minutes=m))
    message = Message.objects.get()
    assert (message.status, message.attempts) == (Status.FAILED, 2)


def test_a_timed_out_message_is_settled_by_its_status_never_resent(kirimwa, make_customer):
    queue(Customer.objects.filter(pk=make_customer(phone="0812-3456-7890").pk))
    kirimwa.hang_seconds = 1
    kirimwa.fail_next("hang")
    sender.send_due_messages()
    message = Message.objects.get()
    # The fake did queue it: its message list says it went out.
    assert message.status == Status.DELIVERED
    assert message.gateway_id == kirimwa.sent[0]["id"]
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=6)
    sender.send_due_messages(clock=lambda: later)
    assert [r["method"] for r in kirimwa.requests] == ["POST", "GET"]  # one send only


def test_a_worker_killed_while_sending_leaves_an_unknown_message_not_a_resend(make_customer):
    queue(Customer.objects.filter(pk=make_customer().pk))
    claimed_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    Message.objects.update(status=Status.SENDING, claimed_at=claimed_at, attempts=1)
    sender.send_due_messages()
    message = Message.objects.get()
    assert message.status == Status.UNKNOWN
    assert MemoryBackend.outbox == []


def test_a_customer_who_opted_out_after_queueing_gets_nothing(shop):
    queue(Customer.objects.filter(pk=shop["dewi"].pk))
    Customer.objects.filter(pk=shop["dewi"].pk).update(whatsapp_opt_out=True)
    sender.send_due_messages()
    assert MemoryBackend.outbox == []
    assert Message.objects.get().status == Status.FAILED


def test_messages_wait_for_the_sending_hours(settings, shop):
    settings.WHATSAPP_SENDING_HOURS = "08:00-21:00"
    queue(Customer.objects.filter(pk=shop["dewi"].pk))
    late = datetime.datetime(2026, 11, 20, 21, 30, tzinfo=JAKARTA)
    wake = sender.send_due_messages(clock=lambda: late)
    assert MemoryBackend.outbox == []
    assert wake == datetime.datetime(2026, 11, 21, 8, 0, tzinfo=JAKARTA)
    morning = datetime.datetime(2026, 11, 21, 8, 0, 5, tzinfo=JAKARTA)
    sender.send_due_messages(clock=lambda: morning)
    assert len(MemoryBackend.outbox) == 1


def test_the_daily_cap_holds_the_rest_until_tomorrow(settings, shop):
    settings.WHATSAPP_DAILY_CAP = 2
    queue(Customer.objects.all())
    noon = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=JAKARTA)
    wake = sender.send_due_messages(clock=lambda: noon)
    assert len(MemoryBackend.outbox) == 2
    assert wake == datetime.datetime(2026, 11, 21, 0, 0, tzinfo=JAKARTA)
    sender.send_due_messages(clock=lambda: noon + datetime.timedelta(days=1))
    assert len(MemoryBackend.outbox) == 3
    assert SendingState.objects.get().sent_on_day == 1


def test_the_rate_spaces_messages_out(settings, shop):
    settings.WHATSAPP_RATE_PER_MINUTE = 6  # one every 10 seconds
    settings.WHATSAPP_JITTER_SECONDS = 2
    queue(Customer.objects.all())
    clock = {"now": datetime.datetime(2026, 11, 20, 12, 0, tzinfo=JAKARTA)}
    sent_at = []

    def sleep(seconds):
        clock["now"] += datetime.timedelta(seconds=seconds)

    def send_text_at(original):
        def send(self, phone, text):
            sent_at.append(clock["now"])
            return original(self, phone, text)
        return send

    original = MemoryBackend.send_text
    MemoryBackend.send_text = send_text_at(original)
    try:
        sender.send_due_messages(clock=lambda: clock["now"], sleep=sleep)
    finally:
        MemoryBackend.send_text = original
    gaps = [(b - a).total_seconds() for a, b in zip(sent_at, sent_at[1:], strict=False)]
    assert len(sent_at) == 3
    assert all(10 <= gap <= 12 for gap in gaps), gaps


def test_failed_messages_can_be_queued_again_from_the_log(
    admin_client, shop, django_capture_on_commit_callbacks
):
    MemoryBackend.fail_next("permanent")
    queue(Customer.objects.filter(pk=shop["dewi"].pk))
    sender.send_due_messages()
    message = Message.objects.get()
    assert message.status == Status.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(MESSAGES_URL, {
            "action": "requeue_messages", "_selected_action": [message.pk],
        })
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert len(MemoryBackend.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_message_once(kirimwa, make_customer):
    if connection.vendor != "mysql":
        pytest.skip("needs a database server that several connections share (CI: MariaDB)")
    customers = [make_customer() for _ in range(40)]
    queue(Customer.objects.filter(pk__in=[c.pk for c in customers]))
    kirimwa.latency = 0.01
    errors = []

    def worker():
        try:
            sender.send_due_messages()
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    phones = [r["phone_number"] for r in kirimwa.sent]
    assert len(phones) == len(set(phones)) == 40
    assert statuses() == [Status.SENT] * 40


# --- The webhook -------------------------------------------------------------


def webhook_url(token="webhook-secret-for-tests"):
    return reverse("kirimwa_webhook", args=[token])


def post_json(client, url, payload):
    return client.post(url, payload, content_type="application/json")


def test_delivery_reports_mark_messages_and_may_repeat(client, shop):
    queue(Customer.objects.filter(pk=shop["dewi"].pk))
    sender.send_due_messages()
    message = Message.objects.get()
    report = {"webhook_type": "send_message_response", "id": message.gateway_id,
              "status": "success", "message": "Message sent"}
    for _time in range(2):
        assert post_json(client, webhook_url(), report).status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.delivered_at is not None
    # A late "fail" for the same id does not undo a delivery; unknown ids are ignored.
    post_json(client, webhook_url(), {**report, "status": "fail"})
    post_json(client, webhook_url(), {**report, "id": "kwid-" + "0" * 27})
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_a_failed_delivery_report_fails_the_message(client, shop):
    queue(Customer.objects.filter(pk=shop["dewi"].pk))
    sender.send_due_messages()
    message = Message.objects.get()
    post_json(client, webhook_url(), {"webhook_type": "send_message_response",
                                      "id": message.gateway_id, "status": "fail",
                                      "message": "Number not on WhatsApp"})
    message.refresh_from_db()
    assert (message.status, message.error) == (Status.FAILED, "Number not on WhatsApp")


def test_the_webhook_needs_the_secret_token(client, shop):
    queue(Customer.objects.filter(pk=shop["dewi"].pk))
    sender.send_due_messages()
    message = Message.objects.get()
    report = {"webhook_type": "send_message_response", "id": message.gateway_id,
              "status": "success"}
    assert post_json(client, webhook_url("wrong-token"), report).status_code == 404
    assert client.get(webhook_url()).status_code == 405
    message.refresh_from_db()
    assert message.status == Status.SENT


@pytest.mark.parametrize("reply", ["STOP", "berhenti", " Berhenti. "])
def test_replying_stop_opts_the_customer_out(client, shop, reply):
    queue(Customer.objects.filter(pk=shop["dewi"].pk))  # queued, not yet sent
    post_json(client, webhook_url(), {
        "webhook_type": "incoming_message",
        "payload": {"id": "in-1", "sender": "6281234567890", "text": reply,
                    "device_id": "toko-blitar", "is_group_message": False},
    })
    shop["dewi"].refresh_from_db()
    assert shop["dewi"].whatsapp_opt_out
    sender.send_due_messages()
    assert MemoryBackend.outbox == []  # the queued message does not go


def test_other_replies_change_nothing(client, shop):
    post_json(client, webhook_url(), {
        "webhook_type": "incoming_message",
        "payload": {"sender": "6281234567890", "text": "Stop dulu, besok pesan lagi"},
    })
    shop["dewi"].refresh_from_db()
    assert not shop["dewi"].whatsapp_opt_out


def test_a_claim_of_a_worker_that_may_have_died_is_looked_at_when_it_goes_stale(
    make_customer,
):
    queue(Customer.objects.filter(pk=make_customer().pk))
    claimed_at = timezone.now()
    Message.objects.update(status=Status.SENDING, claimed_at=claimed_at, attempts=1)
    # The run finds nothing to send, but wakes when that claim would be stale...
    wake = sender.send_due_messages()
    assert wake == claimed_at + sender.stale_after()
    # ...and then recovers it.
    sender.send_due_messages(clock=lambda: wake + datetime.timedelta(seconds=1))
    assert Message.objects.get().status == Status.UNKNOWN
