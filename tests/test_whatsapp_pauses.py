"""Sending that pauses and explains itself (issue 16, points 3, 4, 5 and 8).

A refused token, an unknown device or a disconnected phone pause all sending
at once instead of failing message by message; the cap counts only what
KirimWA accepted; every waiting or failed message says why in Indonesian;
the dashboard and the message log say when no worker runs. Against the fake
KirimWA over HTTP (tests/fake_kirimwa.py).
"""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer, Message, SendingState, WorkerHeartbeat
from crm.whatsapp import outbox, pauses, sender
from crm.whatsapp.gateway import MemoryBackend

MESSAGES_URL = reverse("admin:crm_message_changelist")
RESUME_URL = reverse("admin:crm_message_resume_sending")
INDEX_URL = reverse("admin:index")
Status = Message.Status


@pytest.fixture(autouse=True)
def _memory_backend():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


@pytest.fixture
def three(make_customer):
    customers = [make_customer(name=name) for name in ("Dewi", "Sari", "Budi")]
    batch = outbox.queue_messages("Halo {nama}", by=None, customers=Customer.objects.filter(
        pk__in=[c.pk for c in customers]))
    batch.messages.update(send_after=timezone.now() - datetime.timedelta(minutes=1))
    return batch


def posts(fake):
    return [r for r in fake.requests if r["method"] == "POST"]


def state():
    return SendingState.objects.get(pk=1)


def page(client, url):
    return client.get(url).content.decode()


# --- A refused token or device pauses everything (point 3) ------------------------


def test_a_refused_token_pauses_all_sending_without_using_the_daily_cap(
    settings, kirimwa, three
):
    settings.WHATSAPP_DAILY_CAP = 3
    settings.KIRIMWA_API_TOKEN = "token-lama"
    sender.send_due_messages()
    assert len(posts(kirimwa)) == 1  # not one refusal per message
    assert sorted(Message.objects.values_list("status", "attempts")) == [(Status.QUEUED, 0)] * 3
    assert (state().paused_reason, state().sent_on_day) == ("token", 0)
    # Every worker sees the pause: another run sends nothing.
    sender.send_due_messages()
    assert len(posts(kirimwa)) == 1


def test_the_pause_is_on_the_dashboard_and_the_log_with_the_cause_and_the_fix(
    admin_client, settings, kirimwa, three
):
    settings.KIRIMWA_API_TOKEN = "token-lama"
    sender.send_due_messages()
    alert = "Token KirimWA ditolak: periksa KIRIMWA_API_TOKEN; 3 pesan menunggu"
    for url in (INDEX_URL, MESSAGES_URL):
        html = page(admin_client, url)
        assert alert in html
        assert "Coba lagi" in html and RESUME_URL in html
    assert "Dijeda: Token KirimWA ditolak" in page(admin_client, MESSAGES_URL)


def test_a_probe_that_succeeds_resumes_sending_by_itself(
    settings, kirimwa, three, django_capture_on_commit_callbacks
):
    settings.WHATSAPP_DAILY_CAP = 3
    settings.KIRIMWA_API_TOKEN = "token-lama"
    sender.send_due_messages()
    now = timezone.now()
    sender.restart_if_stalled(now + datetime.timedelta(seconds=61))  # still refused
    assert state().paused_reason == "token"
    assert kirimwa.requests[-1]["path"] == f"/v1/devices/{kirimwa.device_id}"
    settings.KIRIMWA_API_TOKEN = kirimwa.token  # the owner fixed it
    probes = len(kirimwa.requests)
    sender.restart_if_stalled(now + datetime.timedelta(seconds=90))
    assert len(kirimwa.requests) == probes  # probed once a minute, not every heartbeat
    with django_capture_on_commit_callbacks(execute=True):
        sender.restart_if_stalled(now + datetime.timedelta(seconds=125))
    assert state().paused_reason == ""
    assert sorted(Message.objects.values_list("status", flat=True)) == [Status.SENT] * 3
    assert state().sent_on_day == 3  # the whole cap was still there


def test_try_again_resumes_at_once(admin_client, settings, kirimwa, three,
                                   django_capture_on_commit_callbacks):
    settings.KIRIMWA_API_TOKEN = "token-lama"
    sender.send_due_messages()
    settings.KIRIMWA_API_TOKEN = kirimwa.token
    assert admin_client.get(RESUME_URL).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(RESUME_URL, {"next": INDEX_URL})
    assert response.status_code == 302 and response["Location"] == INDEX_URL
    assert len(kirimwa.sent) == 3
    assert "Token KirimWA ditolak" not in page(admin_client, INDEX_URL)


def test_try_again_needs_the_send_permission_and_the_csrf_token(
    settings, django_user_model, kirimwa, three
):
    pauses.pause_sending("token", "KirimWA answered 401", timezone.now())
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client = Client()
    client.force_login(viewer)
    assert client.post(RESUME_URL).status_code == 403
    assert "Coba lagi" not in page(client, MESSAGES_URL)
    owner = django_user_model.objects.create_superuser("pemilik", "p@example.com", "x")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(RESUME_URL).status_code == 403
    assert state().paused_reason == "token"


def test_an_unknown_device_pauses_with_its_own_fix(admin_client, settings, kirimwa, three):
    settings.KIRIMWA_DEVICE_ID = "hp-lama"
    sender.send_due_messages()
    assert len(posts(kirimwa)) == 1
    assert state().paused_reason == "device_missing"
    assert ("Perangkat KirimWA tidak ditemukan: periksa KIRIMWA_DEVICE_ID; 3 pesan menunggu"
            in page(admin_client, MESSAGES_URL))


# --- The device and the quota (point 4) ------------------------------------------


def webhook(client, payload):
    url = reverse("kirimwa_webhook", args=["webhook-secret-for-tests"])
    return client.post(url, payload, content_type="application/json")


def test_a_disconnected_phone_reported_by_webhook_pauses_until_it_reconnects(
    client, admin_client, kirimwa, three, django_capture_on_commit_callbacks
):
    report = {"webhook_type": "device_status_changed", "device_id": kirimwa.device_id,
              "status": "disconnected"}
    assert webhook(client, report).status_code == 200
    assert state().paused_reason == "disconnected"
    sender.send_due_messages()
    assert posts(kirimwa) == []
    assert "pasangkan ulang perangkat di KirimWA" in page(admin_client, INDEX_URL)
    with django_capture_on_commit_callbacks(execute=True):
        webhook(client, {**report, "status": "connected"})
    assert state().paused_reason == ""
    assert len(kirimwa.sent) == 3


def test_another_devices_report_changes_nothing(client, db, kirimwa):
    webhook(client, {"webhook_type": "device_status_changed", "device_id": "hp-lain",
                     "status": "disconnected"})
    assert not SendingState.objects.filter(paused_reason="disconnected").exists()


@pytest.mark.parametrize("payload", [
    {"webhook_type": "device_status_changed", "status": ["disconnected"]},
    {"webhook_type": "device_status_changed", "status": "disconnected", "device_id": 7},
])
def test_a_device_report_of_the_wrong_shape_is_refused(client, db, payload):
    assert webhook(client, payload).status_code == 400


def test_the_heartbeats_probe_finds_a_disconnected_phone(kirimwa, three):
    kirimwa.device_status = "disconnected"
    assert sender.restart_if_stalled() is False
    assert state().paused_reason == "disconnected"
    assert posts(kirimwa) == []


def test_the_months_usage_is_shown_next_to_the_message_log(admin_client, kirimwa):
    kirimwa.quota["current_month_message_sent"] = 1234
    pauses.probe_gateway()
    assert "KirimWA bulan ini: 1234 dari 3000 pesan terpakai" in page(admin_client, MESSAGES_URL)


# --- Every waiting or failed message says why (point 5) ------------------------------


def why_of(admin_client, message):
    listed = admin_client.get(MESSAGES_URL)
    [row] = [m for m in listed.context["cl"].result_list if m.pk == message.pk]
    return row.why_text


def test_a_message_waiting_for_the_sending_hours_says_from_when(admin_client, settings, three):
    settings.WHATSAPP_SENDING_HOURS = "08:00-08:01" if timezone.localtime().hour >= 9 \
        else "23:58-23:59"
    message = three.messages.first()
    assert why_of(admin_client, message).startswith("Menunggu jam kirim: mulai ")


def test_a_message_held_by_the_daily_cap_says_n_of_n_and_when(admin_client, settings, three):
    settings.WHATSAPP_DAILY_CAP = 2
    sender.send_due_messages()
    waiting = Message.objects.get(status=Status.QUEUED)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert why_of(admin_client, waiting) == (
        f"Batas harian tercapai (2 dari 2): lanjut {tomorrow:%d-%m-%Y} 00:00"
    )


def test_a_failed_message_says_why_plainly_and_keeps_the_detail_on_its_page(
    admin_client, kirimwa, make_customer
):
    batch = outbox.queue_messages("Halo", by=None, customers=Customer.objects.filter(
        pk=make_customer(phone="0812-3456-7890").pk))
    kirimwa.hang_seconds = 1
    kirimwa.fail_next("500")
    sender.send_due_messages()
    message = batch.messages.get()
    log = page(admin_client, MESSAGES_URL)
    assert "Terkirim, tetapi jawaban KirimWA hilang: sedang dicek ke KirimWA" in log
    for english in ("KirimWA answered", "Internal server error", "HTTPConnectionPool"):
        assert english not in log
    detail = page(admin_client, reverse("admin:crm_message_change", args=[message.pk]))
    assert "KirimWA answered 500" in detail and message.reference in detail


def test_a_permanent_refusal_fails_with_a_plain_reason(admin_client, kirimwa, make_customer):
    customer = make_customer(phone="0812-3456-7890")
    outbox.queue_messages("Halo", by=None, customers=Customer.objects.filter(pk=customer.pk))
    Message.objects.update(phone="0812")  # not sendable: refused before it reaches KirimWA
    sender.send_due_messages()
    message = Message.objects.get()
    assert (message.status, message.reason) == (Status.FAILED, Message.Reason.REFUSED)
    assert "KirimWA menolak pesan ini (nomor atau teksnya)" in page(admin_client, MESSAGES_URL)


# --- Worker liveness (point 8) ----------------------------------------------------


def test_without_a_worker_the_dashboard_and_the_log_say_what_to_run(admin_client, db):
    for url in (INDEX_URL, MESSAGES_URL):
        html = page(admin_client, url)
        assert "Tidak ada worker latar belakang yang berjalan" in html
        assert "python manage.py worker" in html


def test_a_worker_silent_for_90_seconds_is_reported_with_since_when(admin_client, db):
    last = timezone.now() - datetime.timedelta(seconds=91)
    WorkerHeartbeat.objects.create(worker_id="w", beat_at=last)
    since = timezone.localtime(last).strftime("%d-%m-%Y %H:%M")
    assert f"berjalan sejak {since}" in page(admin_client, INDEX_URL)
    WorkerHeartbeat.objects.filter(worker_id="w").update(
        beat_at=timezone.now() - datetime.timedelta(seconds=80)
    )
    assert "Tidak ada worker" not in page(admin_client, MESSAGES_URL)  # read fresh there


def test_healthz_uses_the_same_90_seconds(client, db):
    WorkerHeartbeat.objects.create(
        worker_id="w", beat_at=timezone.now() - datetime.timedelta(seconds=80)
    )
    assert client.get("/healthz").json()["checks"]["worker"] == "ok"
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - datetime.timedelta(seconds=91))
    assert client.get("/healthz").json()["checks"]["worker"] == "fail"


def test_the_phone_is_checked_every_10_minutes_while_sending(kirimwa, db):
    now = timezone.now()
    pauses.probe_gateway(now)
    pauses.probe_gateway(now + datetime.timedelta(minutes=9))
    devices = [r for r in kirimwa.requests if r["path"].startswith("/v1/devices/")]
    assert len(devices) == 1
    pauses.probe_gateway(now + datetime.timedelta(minutes=10))
    devices = [r for r in kirimwa.requests if r["path"].startswith("/v1/devices/")]
    assert len(devices) == 2
