"""/healthz, worker heartbeats, and restarting sending after a worker died."""

import datetime

import pytest
from django.utils import timezone

from crm.management.commands.worker import beat
from crm.models import Customer, Message, SendingState, WorkerHeartbeat
from crm.whatsapp import outbox, sender
from crm.whatsapp.gateway import MemoryBackend


@pytest.fixture(autouse=True)
def _memory_backend():
    MemoryBackend.reset()
    yield
    MemoryBackend.reset()


def test_healthy_when_the_database_is_migrated_and_a_worker_beats(client, db):
    beat("worker-1", timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
        "worker_heartbeat_age_seconds": 0,
    }


def test_unhealthy_without_a_live_worker(client, db):
    assert client.get("/healthz").status_code == 503
    WorkerHeartbeat.objects.create(
        worker_id="gone", beat_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    body = client.get("/healthz").json()
    assert body["status"] == "fail" and body["checks"]["worker"] == "fail"
    assert body["worker_heartbeat_age_seconds"] == 300


def test_a_heartbeat_restarts_sending_that_a_dead_worker_left(
    db, make_customer, django_capture_on_commit_callbacks
):
    customer = make_customer()
    outbox.queue_messages("Halo {nama}", by=None, customers=Customer.objects.all())
    Message.objects.update(send_after=timezone.now() - datetime.timedelta(minutes=1))
    # A sender ran once, long ago, and then its worker died.
    SendingState.objects.filter(pk=1).update(
        sender_seen_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    with django_capture_on_commit_callbacks(execute=True):
        beat("worker-2", timezone.now())
    assert [phone for phone, _text, _id in MemoryBackend.outbox] == [customer.phone]
    assert Message.objects.get().status == Message.Status.SENT


def test_a_heartbeat_leaves_a_live_sender_alone(db, make_customer):
    outbox.queue_messages("Halo", by=None, customers=Customer.objects.filter(
        pk=make_customer().pk))
    SendingState.objects.filter(pk=1).update(sender_seen_at=timezone.now())
    assert sender.restart_if_stalled() is False


def test_unhealthy_when_the_database_is_unreachable(client, db):
    from django.db import connection

    if connection.vendor != "mysql":
        pytest.skip("the in-memory SQLite test database cannot be cut off (CI: MariaDB)")
    beat("worker-1", timezone.now())
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "9"})  # nothing listens
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "fail", "migrations": "fail", "worker": "fail",
    }


def running_task(worker_id, started_at):
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.create(
        status="RUNNING", started_at=started_at, worker_ids=[worker_id],
        args_kwargs={"args": [1], "kwargs": {}}, task_path="tests.tasks.take_a_moment",
        backend_name="default", run_after=started_at,
    )


def test_a_task_whose_worker_stopped_beating_is_marked_failed(db):
    from django.utils.module_loading import import_string

    from crm.management.commands import worker

    now = timezone.now()
    long_ago = now - datetime.timedelta(minutes=5)
    WorkerHeartbeat.objects.create(worker_id="killed", beat_at=long_ago)
    WorkerHeartbeat.objects.create(worker_id="alive", beat_at=now)
    orphan = running_task("killed", long_ago)
    busy = running_task("alive", long_ago)  # a long task of a live worker
    unknown = running_task("plain-db-worker", long_ago)  # no heartbeat to judge by

    beat("alive", now)

    orphan.refresh_from_db()
    assert orphan.status == "FAILED"
    assert orphan.finished_at is not None
    assert "stopped sending its heartbeat" in orphan.traceback
    assert import_string(orphan.exception_class_path) is worker.WorkerDied
    for task in (busy, unknown):
        task.refresh_from_db()
        assert task.status == "RUNNING"
    # Every live worker's heartbeat runs the check; the second finds nothing.
    assert worker.fail_tasks_of_dead_workers() == 0
    # A day later the dead worker is forgotten; the live one, still beating, stays.
    a_day_later = now + datetime.timedelta(days=1, minutes=6)
    WorkerHeartbeat.objects.filter(worker_id="alive").update(beat_at=a_day_later)
    assert worker.fail_tasks_of_dead_workers(a_day_later) == 0
    assert set(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == {"alive"}


@pytest.fixture
def production_https(settings):
    """The README's production settings: only the domain, HTTPS enforced."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["crm.example.id"]


def test_the_container_health_check_is_answered_under_production_settings(
    client, db, production_https, caplog
):
    beat("worker-1", timezone.now())
    # What the image's HEALTHCHECK sends: plain HTTP to 127.0.0.1:8000.
    with caplog.at_level("DEBUG"):
        response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert [record for record in caplog.records if record.levelname in {
        "WARNING", "ERROR", "CRITICAL"}] == []


def test_it_reports_failure_under_production_settings_too(client, db, production_https):
    response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "fail"


def test_other_pages_still_check_the_host_and_redirect_to_https(
    client, db, production_https
):
    assert client.get("/admin/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    response = client.get("/admin/login/", HTTP_HOST="crm.example.id")
    assert response.status_code == 301
    assert response["Location"] == "https://crm.example.id/admin/login/"


def test_a_worker_is_dead_after_dead_after_of_silence(db):
    from crm.models.workers import DEAD_AFTER, dead_worker_ids, worker_down, worker_down_since

    now = timezone.now()
    assert worker_down_since(now) == (True, None)
    WorkerHeartbeat.objects.beat("quiet", now - DEAD_AFTER, now=now - DEAD_AFTER)
    assert worker_down(now - DEAD_AFTER, now) == (False, now - DEAD_AFTER)
    later = now + datetime.timedelta(seconds=1)
    assert worker_down_since(later) == (True, now - DEAD_AFTER)
    assert dead_worker_ids(later) == {"quiet"}
    WorkerHeartbeat.objects.beat("busy", now, now=now)
    assert WorkerHeartbeat.objects.newest_beat() == now
    assert worker_down_since(later) == (False, now)
    assert dead_worker_ids(later) == {"quiet"}
