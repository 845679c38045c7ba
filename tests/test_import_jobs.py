"""Large imports and undos in the task worker, with a progress page (crm.import_jobs).

The tests use the immediate task backend: the job runs inside the confirming
request, as the worker would run it after. They commit for real
(transaction=True): progress is read from another connection while the
import's transaction is open.
"""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.db import connection, connections
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from crm import import_jobs, import_progress
from crm.history import deleted_records, restore_customer
from crm.imports import revert_import
from crm.models import Customer, ImportJob, ImportRecord
from crm.roles import OWNER, SALES, VIEWER, sync_roles
from crm.spreadsheets import SharedUploadStorage
from tests.test_customer_import import confirm, csv_file, preview, undo

pytestmark = pytest.mark.django_db(transaction=True)


def customers_csv(count, start=0):
    return csv_file("Nama,No HP\n" + "".join(
        f"Orang {i},0812-{i // 10000:04d}-{i % 10000:04d}\n" for i in range(start, start + count)
    ))


@pytest.fixture
def threshold(settings):
    settings.IMPORT_BACKGROUND_ROWS = 10
    return 10


def job_url(job, view="job"):
    return reverse(f"admin:crm_importrecord_{view}", args=[job.pk])


def upload_is_kept(name):
    return caches["import_uploads"].get(SharedUploadStorage.CACHE_PREFIX + name) is not None


def test_it_imports_a_file_over_the_threshold_as_a_job(admin_client, admin_user, threshold):
    response = preview(admin_client, customers_csv(25))
    upload = response.context["confirm_form"].initial["import_file_name"]
    response = confirm(admin_client, response)

    job = ImportJob.objects.get()
    assert response["Location"] == job_url(job)
    assert (job.kind, job.status, job.rows_done, job.rows_total, job.created_by) == (
        "import", "done", 25, 25, admin_user
    )
    assert Customer.objects.count() == 25
    assert job.import_record == ImportRecord.objects.get()
    assert job.import_record.created_count == 25
    assert not upload_is_kept(upload)  # the job removed it

    page = admin_client.get(job_url(job)).content.decode()
    assert "25 dari 25 baris (100%)" in page
    assert "Impor selesai: 25 baru, 0 diubah, 0 dilewati." in page


def test_it_imports_a_file_up_to_the_threshold_in_the_request(admin_client, threshold):
    response = confirm(admin_client, preview(admin_client, customers_csv(10)))
    assert response["Location"] == reverse("admin:crm_customer_changelist")
    assert Customer.objects.count() == 10
    assert not ImportJob.objects.exists()


def test_it_shows_progress_while_the_import_transaction_is_open(
    admin_client, threshold, monkeypatch
):
    monkeypatch.setattr(import_progress, "PROGRESS_SECONDS", 0)
    seen = []
    write = import_progress.ProgressWriter.__call__

    def write_and_look(writer, rows_done, force=False):
        write(writer, rows_done, force)
        seen.append(seen_by_the_web(writer.job, rows_done))

    monkeypatch.setattr(import_progress.ProgressWriter, "__call__", write_and_look)
    confirm(admin_client, preview(admin_client, customers_csv(2500)))

    # Rows done, as the progress page sees them, while no customer is committed yet.
    assert [rows for rows, _customers in seen][:3] == [1, 2, 3]
    assert seen[2000 - 1] == (2000, 0)
    assert Customer.objects.count() == 2500


def inline_scripts(html):
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)


def seen_by_the_web(job, rows_done):
    """(rows done, customers) as another process would read them now."""
    if connection.vendor == "sqlite":
        # One writer at a time: progress is in a file beside the database;
        # a second connection would wait for the import's write lock.
        snapshot = ImportJob(pk=job.pk, status="running", rows_total=job.rows_total,
                             started_at=job.started_at)
        return import_progress.progress(snapshot)["rows_done"], 0
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT rows_done FROM crm_importjob WHERE id = %s", [job.pk])
            rows = cursor.fetchone()[0]
            cursor.execute("SELECT COUNT(*) FROM crm_customer")
            return rows, cursor.fetchone()[0]
    finally:
        other.close()


def test_a_failed_import_writes_nothing_and_says_why_in_plain_words(
    admin_client, threshold, monkeypatch
):
    # 1,500 rows: the first 1,000 are written as one batch, then the rest fails.
    response = preview(admin_client, customers_csv(1500))
    upload = response.context["confirm_form"].initial["import_file_name"]
    original_bulk_create = QuerySet.bulk_create

    def fail_second_batch(queryset, objs, *args, **kwargs):
        if any(getattr(obj, "name", "") == "Orang 1499" for obj in objs):
            raise RuntimeError("disk full at /var/lib/mysql")
        return original_bulk_create(queryset, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", fail_second_batch)
    job_page = confirm(admin_client, response)["Location"]

    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert not Customer.objects.exists()
    assert not ImportRecord.objects.exists()
    assert not upload_is_kept(upload)
    page = admin_client.get(job_page).content.decode()
    assert job.error == ("Tidak ada yang diimpor: berkas tidak bisa diimpor seluruhnya. "
                         "Unggah lagi untuk melihat masalahnya.")
    assert job.error in page
    for jargon in ("RuntimeError", "disk full", "/var/lib", "Traceback"):
        assert jargon not in page


def test_an_import_whose_upload_expired_fails_with_a_sentence(admin_client, threshold):
    response = preview(admin_client, customers_csv(20))
    SharedUploadStorage(name=response.context["confirm_form"].initial["import_file_name"]).remove()
    confirm(admin_client, response)
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert "Unggah berkasnya lagi" in job.error
    assert not Customer.objects.exists()


def test_an_unexpected_error_is_logged_and_told_in_plain_words(
    admin_client, threshold, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise KeyError("phone")

    response = preview(admin_client, customers_csv(20))
    monkeypatch.setattr(import_jobs, "_import", broken)
    confirm(admin_client, response)
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert "KeyError" not in job.error and "phone" not in job.error
    assert job.error.startswith("Tidak ada yang berubah")
    assert "KeyError" in caplog.text  # for whoever reads the log


def test_the_progress_page_survives_a_reload_and_refreshes_without_inline_script(
    admin_client, admin_user
):
    job = ImportJob.objects.create(kind="import", status="running", model_name="crm.customer",
                                   file_name="besar.csv", rows_total=100_000, rows_done=40_000,
                                   created_by=admin_user)
    ImportJob.objects.filter(pk=job.pk).update(started_at=job.created_at)
    first = admin_client.get(job_url(job))
    again = admin_client.get(job_url(job))
    assert first.status_code == again.status_code == 200
    page = again.content.decode()
    assert "Mengimpor “besar.csv”" in page
    assert "40.000 dari 100.000 baris (40%)" in page
    assert 'max="100000" value="40000"' in page
    assert '<script src="/static/crm/import_job.js" defer></script>' in page
    # CSP: no inline script of its own, only jazzmin's, allowed by their hashes.
    assert inline_scripts(page) == inline_scripts(
        admin_client.get(reverse("admin:index")).content.decode()
    )

    data = admin_client.get(job_url(job, "job_progress")).json()
    assert (data["status"], data["rows_done"], data["rows_total"], data["percent"]) == (
        "running", 40_000, 100_000, 40
    )
    assert data["finished"] is False
    assert "menit lagi" in data["time_left"] or "kurang dari" in data["time_left"]


@pytest.mark.parametrize("role, status", [(OWNER, 200), (SALES, 403), (VIEWER, 403)])
def test_only_who_may_import_sees_the_progress(client, django_user_model, admin_user, role,
                                               status):
    job = ImportJob.objects.create(kind="import", model_name="crm.customer",
                                   rows_total=5000, created_by=admin_user)
    sync_roles(Group, Permission)  # transaction=True: the migration's groups were flushed
    person = django_user_model.objects.create_user("orang", is_staff=True)
    person.groups.add(Group.objects.get(name=role))
    client.force_login(person)
    assert client.get(job_url(job)).status_code == status
    assert client.get(job_url(job, "job_progress")).status_code == status


def test_it_undoes_a_large_import_as_a_job(admin_client, admin_user, threshold):
    confirm(admin_client, preview(admin_client, customers_csv(30)))
    record = ImportRecord.objects.get()

    response = undo(admin_client, record)
    job = ImportJob.objects.get(kind="undo")
    assert response.redirect_chain[-1][0] == job_url(job)
    assert (job.status, job.rows_done, job.rows_total, job.import_record) == (
        "done", 30, 30, record
    )
    assert not Customer.objects.exists()
    record.refresh_from_db()
    assert record.reverted_by == admin_user
    assert "Dibatalkan: 30 baris." in response.content.decode()


def test_a_large_undo_that_cannot_be_done_says_why(admin_client, threshold, make_opportunity):
    confirm(admin_client, preview(admin_client, customers_csv(30)))
    make_opportunity(customer=Customer.objects.first())
    undo(admin_client, ImportRecord.objects.get())
    job = ImportJob.objects.get(kind="undo")
    assert job.status == "failed"
    assert job.error.startswith("Tidak bisa dibatalkan")
    assert Customer.objects.count() == 30


def test_undo_writes_its_history_rows_in_bulk(admin_client, admin_user):
    confirm(admin_client, preview(admin_client, customers_csv(300)))
    record = ImportRecord.objects.get()

    with CaptureQueriesContext(connection) as queries:
        revert_import(record, by=admin_user)
    history_inserts = [q["sql"] for q in queries.captured_queries
                       if q["sql"].startswith("INSERT") and "historicalcustomer" in q["sql"]]
    # Not one per row: one statement (SQLite: as many as its 999 variables need).
    assert len(history_inserts) == (6 if connection.vendor == "sqlite" else 1)

    deleted = Customer.history.filter(history_type="-")
    assert deleted.count() == 300
    assert set(deleted.values_list("history_user", flat=True)) == {admin_user.pk}
    assert sorted(deleted.values_list("name", flat=True))[:2] == ["Orang 0", "Orang 1"]
    # The owner finds them among the deleted customers, and restores one.
    assert "Orang 299" in admin_client.get(
        reverse("admin:crm_deletedcustomer_changelist") + "?q=Orang+299"
    ).content.decode()
    restore_customer(deleted_records(Customer).get(name="Orang 299"), by=admin_user)
    assert Customer.objects.get().phone == "6281200000299"


def test_a_second_undo_of_a_running_job_does_not_queue_another(admin_client, admin_user,
                                                                threshold, monkeypatch):
    confirm(admin_client, preview(admin_client, customers_csv(30)))
    record = ImportRecord.objects.get()
    monkeypatch.setattr(import_jobs, "_enqueue", lambda job: None)  # the worker is busy
    undo(admin_client, record)
    undo(admin_client, record)
    assert ImportJob.objects.filter(kind="undo").count() == 1



def test_a_job_whose_worker_was_killed_says_so_and_wrote_nothing(admin_client, admin_user):
    # manage.py worker marks failed the task of a worker that stopped beating.
    task = DBTaskResult.objects.create(
        status=TaskResultStatus.FAILED, args_kwargs={"args": [1], "kwargs": {}},
        task_path="crm.import_jobs.run_import_job", queue_name="default", backend_name="default",
        run_after=timezone.now(), exception_class_path="crm.management.commands.worker.WorkerDied",
        traceback="Worker w1 stopped sending its heartbeat while running this task.",
    )
    job = ImportJob.objects.create(kind="import", status="running", model_name="crm.customer",
                                   rows_total=5000, rows_done=1200, created_by=admin_user,
                                   options={"task_id": str(task.pk)})
    data = admin_client.get(job_url(job, "job_progress")).json()
    assert (data["status"], data["finished"]) == ("failed", True)
    assert data["error"].startswith("Tidak ada yang berubah: pekerja yang menjalankannya berhenti")
    assert "WorkerDied" not in data["error"] and "heartbeat" not in data["error"]
    assert ImportJob.objects.get().status == "failed"


def test_only_a_large_uploads_row_count_is_kept_and_it_goes_with_the_upload(
    admin_client, threshold
):
    small = preview(admin_client, customers_csv(10)).context["confirm_form"].initial
    large = preview(admin_client, customers_csv(11)).context["confirm_form"].initial
    assert import_jobs.remembered_rows(small["import_file_name"]) is None
    assert import_jobs.remembered_rows(large["import_file_name"]) == 11
    admin_client.post(reverse("admin:crm_customer_process_import"), {**large, "confirm": "1"})
    assert import_jobs.remembered_rows(large["import_file_name"]) is None
    assert not upload_is_kept(large["import_file_name"])


def test_the_import_history_leads_back_to_a_job_still_at_work(admin_client, admin_user):
    job = ImportJob.objects.create(kind="import", status="running", model_name="crm.customer",
                                   file_name="besar.csv", rows_total=5000,
                                   created_by=admin_user)
    page = admin_client.get(reverse("admin:crm_importrecord_changelist")).content.decode()
    assert "“besar.csv” masih dikerjakan di latar belakang." in page
    assert f'<a href="{job_url(job)}">Lihat kemajuannya</a>' in page
    ImportJob.objects.filter(pk=job.pk).update(status="done")
    page = admin_client.get(reverse("admin:crm_importrecord_changelist")).content.decode()
    assert job_url(job) not in page
