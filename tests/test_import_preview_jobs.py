"""A large upload's preview made by the task worker (crm.import_preview).

The upload's request only stores the file and queues the preview, so no
request reads and checks 100,000 rows. The tests use the immediate task
backend (the job runs inside the upload's request, as the worker would run
it after) unless they play the worker themselves.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from crm import import_jobs, import_progress
from crm.import_preview import estimate_rows
from crm.models import Customer, ImportJob, ImportRecord
from crm.roles import OWNER, sync_roles
from crm.spreadsheets import SharedUploadStorage
from tests.spreadsheet_files import xlsx_bytes

pytestmark = pytest.mark.django_db(transaction=True)

IMPORT_URL = reverse("admin:crm_customer_import")
CONFIRM_URL = reverse("admin:crm_customer_process_import")


@pytest.fixture(autouse=True)
def thresholds(settings, django_db_setup):
    settings.IMPORT_PREVIEW_BACKGROUND_ROWS = 20
    settings.IMPORT_BACKGROUND_ROWS = 30


def rows_csv(count, bad_rows=()):
    lines = ["Nama,No HP"]
    for i in range(count):
        phone = "081-234" if i in bad_rows else f"0812-{i // 10000:04d}-{i % 10000:04d}"
        lines.append(f"Orang {i},{phone}")
    return ("\n".join(lines) + "\n").encode()


def upload(client, data, name="pelanggan-besar.csv", **extra):
    return client.post(IMPORT_URL, {
        "import_file": SimpleUploadedFile(name, data), "format": "", "resource": "0", **extra,
    })


def job_url(job):
    return reverse("admin:crm_importrecord_job", args=[job.pk])


def upload_is_kept(name):
    return caches["import_uploads"].get(SharedUploadStorage.CACHE_PREFIX + name) is not None


def test_a_large_upload_is_previewed_by_the_worker_then_confirmed(admin_client, admin_user):
    response = upload(admin_client, rows_csv(50))
    job = ImportJob.objects.get()
    assert response["Location"] == job_url(job)
    assert (job.kind, job.status, job.rows_total, job.rows_done, job.created_by) == (
        "preview", "done", 50, 50, admin_user
    )
    assert not Customer.objects.exists()  # a preview writes nothing
    assert upload_is_kept(job.upload_name)  # for the confirmation

    # The job's address now leads to the import page showing the preview.
    shown = admin_client.get(job_url(job))
    assert shown["Location"] == f"{IMPORT_URL}?preview={job.pk}"
    page = admin_client.get(shown["Location"])
    html = page.content.decode()
    assert 'data-total="new">50<' in html
    assert "Orang 0" in html and "Orang 99" not in html  # the first 100 rows at most
    form = page.context["confirm_form"]
    assert form.initial["import_file_name"] == job.upload_name
    assert form.initial["original_file_name"] == "pelanggan-besar.csv"

    # 50 rows: past IMPORT_BACKGROUND_ROWS, so the import is a job too.
    confirmed = admin_client.post(CONFIRM_URL, {**form.initial, "confirm": "1"})
    import_job = ImportJob.objects.get(kind="import")
    assert confirmed["Location"] == job_url(import_job)
    assert import_job.status == "done"
    assert Customer.objects.count() == 50
    assert not upload_is_kept(job.upload_name)

    # Confirmed twice (Back, then the button again): no second import.
    again = admin_client.post(CONFIRM_URL, {**form.initial, "confirm": "1"})
    assert again["Location"] == job_url(import_job)
    assert ImportJob.objects.filter(kind="import").count() == 1
    assert ImportRecord.objects.count() == 1


def test_a_small_upload_is_still_previewed_in_its_request(admin_client):
    response = upload(admin_client, rows_csv(19))  # 20 lines with the header
    assert response.status_code == 200
    assert response.context["result"].totals["new"] == 19
    assert not ImportJob.objects.exists()


def test_a_large_preview_with_errors_lists_them_by_sheet_row_and_offers_no_confirmation(
    admin_client
):
    upload(admin_client, rows_csv(300, bad_rows={3, 250}))
    job = ImportJob.objects.get()
    assert job.status == "done"
    page = admin_client.get(f"{IMPORT_URL}?preview={job.pk}")
    html = page.content.decode()
    assert page.context.get("confirm_form") is None
    assert page.context["result"].invalid_count == 2
    # Dataset rows 4 and 251 are sheet rows 5 and 252 (the header is row 1).
    assert "<td>5</td>" in html and "<td>252</td>" in html
    assert "Kesalahan: <strong data-total=\"invalid\">2</strong>" in html
    assert not upload_is_kept(job.upload_name)  # no confirmation will follow
    assert not Customer.objects.exists()


def test_a_large_preview_that_cannot_read_the_file_fails_in_plain_words(admin_client):
    garbage = b"Nama,No HP\n" + b"\x00\xff\xfe" * 20_000 + b"\n" * 40
    upload(admin_client, garbage, name="foto.csv")
    job = ImportJob.objects.get()
    assert job.status == "failed"
    page = admin_client.get(job_url(job)).content.decode()
    assert job.error and job.error in page
    for jargon in ("Error", "Traceback", "/work/", "codec", "UnicodeDecode"):
        assert jargon not in job.error
    assert not upload_is_kept(job.upload_name)
    # Its way on is the import page, to upload again.
    assert f'href="{IMPORT_URL}"' in page


def test_only_its_starter_sees_a_preview(admin_client, client, make_staff):
    upload(admin_client, rows_csv(50))
    job = ImportJob.objects.get()
    sync_roles(Group, Permission)  # transaction=True: the migration's groups were flushed
    client.force_login(make_staff("pemilik2", OWNER))
    assert client.get(f"{IMPORT_URL}?preview={job.pk}").status_code == 404
    assert client.get(job_url(job)).status_code == 403
    assert admin_client.get(f"{IMPORT_URL}?preview=abc").status_code == 404


def test_a_job_speaks_the_language_of_who_started_it(admin_client, settings, monkeypatch):
    monkeypatch.setattr(import_jobs, "_enqueue", lambda job: None)  # the worker is the test
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    upload(admin_client, rows_csv(50, bad_rows={7}))
    job = ImportJob.objects.get()
    assert job.options["language"] == "en"
    with translation.override("id"):  # the worker's own language
        import_jobs.run(job.pk)
    job.refresh_from_db()
    (row,) = job.preview["invalid_rows"]
    message = row["field_specific_errors"]["phone"][0]
    assert "number" in message.lower() and "nomor" not in message.lower()


def test_the_preview_moves_the_progress_bar(admin_client, monkeypatch):
    monkeypatch.setattr(import_progress, "PROGRESS_SECONDS", 0)
    seen = []
    write = import_progress.ProgressWriter.__call__

    def write_and_note(writer, rows_done, force=False):
        write(writer, rows_done, force)
        seen.append(rows_done)

    monkeypatch.setattr(import_progress.ProgressWriter, "__call__", write_and_note)
    upload(admin_client, rows_csv(40))
    assert seen[:3] == [1, 2, 3] and seen[-1] == 40


def test_rows_are_estimated_from_the_bytes_without_reading_the_sheet():
    assert estimate_rows(rows_csv(1234), "csv") == 1235  # and its header
    rows = [["Nama", "No HP"]] + [[f"Orang {i}", f"0812{i:08d}"] for i in range(3000)]
    assert estimate_rows(xlsx_bytes(rows), "xlsx") == 3001
    vcard = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nTEL;TYPE=CELL:0812\r\nEND:VCARD\r\n"
    assert estimate_rows(vcard * 700, "vcf") == 700
    assert estimate_rows(b"not a workbook", "xlsx") == 0


def test_a_large_xlsx_is_previewed_by_the_worker(admin_client):
    rows = [["Nama", "No HP"]] + [[f"Orang {i}", f"0812{i:08d}"] for i in range(60)]
    response = upload(admin_client, xlsx_bytes(rows), name="pelanggan.xlsx")
    job = ImportJob.objects.get()
    assert response["Location"] == job_url(job)
    assert (job.status, job.rows_total, job.preview["totals"]["new"]) == ("done", 60, 60)
