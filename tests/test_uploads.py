"""Request bodies are limited before they are read (crm.middleware), and uploaded
spreadsheets do not outstay their import (crm.spreadsheets.SharedUploadStorage)."""

import datetime
import io
import re

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from crm.middleware import IMPORT_FORM_OVERHEAD
from crm.models import Customer, ImportJob
from crm.resources import CustomerResource
from crm.spreadsheets import SharedUploadStorage, SpreadsheetCSV
from tests.test_import_limits import xlsx_bytes, zip_bomb

LOGIN_URL = reverse("admin:login")
IMPORT_URL = reverse("admin:crm_customer_import")
CONFIRM_URL = reverse("admin:crm_customer_process_import")
ADD_URL = reverse("admin:crm_customer_add")
CSV_FORMAT, XLSX_FORMAT = "0", "1"
MB = 1024 * 1024


class Body(io.RawIOBase):
    """A request body of ``size`` bytes that counts what is read of it."""

    def __init__(self, size):
        self.left = size
        self.read_bytes = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        self.read_bytes += n
        return n


def post_body(client, path, body, content_length, **extra):
    """POST ``body`` to ``path`` declaring ``content_length`` (None: no header, as chunked)."""
    environ = {"wsgi.input": body, "CONTENT_TYPE": "multipart/form-data; boundary=xyz", **extra}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    return client.generic("POST", path, b"", **environ)


# --- Request body limits --------------------------------------------------------


def test_the_body_limit_comes_before_every_other_middleware():
    assert settings.MIDDLEWARE[0] == "crm.middleware.RequestBodyLimitMiddleware"


def test_a_large_anonymous_post_to_the_login_page_is_refused_unread(client):
    body = Body(10 * MB)
    response = post_body(client, LOGIN_URL, body, content_length=1024 * MB)
    assert response.status_code == 413
    assert body.read_bytes == 0
    html = response.content.decode()
    assert "<h1>Data yang dikirim terlalu besar</h1>" in html
    assert "lebih besar dari 2,5 MB" in html
    assert "Traceback" not in html


def test_the_refusal_is_in_english_for_english_users(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = post_body(client, LOGIN_URL, Body(0), content_length=3 * MB)
    assert response.status_code == 413
    assert "What was sent is larger than 2.5 MB" in response.content.decode()


def test_other_pages_of_a_logged_in_user_have_the_small_limit(owner_client):
    for path in (ADD_URL, CONFIRM_URL):  # the confirmation posts only the file's name
        body = Body(0)
        assert post_body(owner_client, path, body, content_length=3 * MB).status_code == 413
        assert body.read_bytes == 0


def test_the_import_page_takes_a_file_up_to_the_upload_limit(owner_client):
    notes = "catatan " * 3750  # 30,000 characters
    data = ("Nama,No HP,Catatan\n" + f"Dewi,0812-3456-7890,{notes}\n" * 100).encode()
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = preview(owner_client, "besar.csv", data)
    assert response.status_code == 200
    assert dict(response.context["result"].totals)["new"] == 1  # then 99 updates of it


def test_the_import_page_refuses_more_than_the_upload_limit_unread(owner_client):
    body = Body(0)
    response = post_body(owner_client, IMPORT_URL, body, content_length=10 * MB + 65 * 1024)
    assert response.status_code == 413
    assert body.read_bytes == 0
    assert "lebih besar dari 10 MB" in response.content.decode()


def test_a_body_without_a_length_is_not_read(client):
    # Chunked: Django reads no body without Content-Length, so nothing reaches /tmp.
    body = Body(10 * MB)
    response = post_body(client, LOGIN_URL, body, content_length=None,
                         HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 200  # the login page again, no credentials read
    assert body.read_bytes == 0


def test_a_body_longer_than_its_declared_length_is_read_only_that_far(client):
    body = Body(10 * MB)
    response = post_body(client, LOGIN_URL, body, content_length=100)
    assert response.status_code in (200, 400)
    assert body.read_bytes <= 100


# --- The upload cache -------------------------------------------------------------


def stored_uploads():
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM crm_import_upload")
        return cursor.fetchone()[0]


def preview(client, name, data, file_format=CSV_FORMAT):
    return client.post(IMPORT_URL, {
        "import_file": SimpleUploadedFile(name, data), "format": file_format, "resource": "0",
    })


@pytest.mark.parametrize("name, data, file_format", [
    ("salah.csv", b"Nama,No HP\nDewi,081-234\n", CSV_FORMAT),  # an invalid number
    ("bukan.xlsx", b"not a workbook", XLSX_FORMAT),  # unreadable
    ("bom.xlsx", zip_bomb(cell_mb=20), XLSX_FORMAT),
    ("besar.csv", b"Nama,No HP\n" + b"x,1\n" * 110_001, CSV_FORMAT),  # plainly too many rows
])
def test_a_file_that_will_not_be_confirmed_is_not_kept(owner_client, name, data, file_format):
    response = preview(owner_client, name, data, file_format)
    assert response.status_code == 200 and response.context.get("confirm_form") is None
    assert stored_uploads() == 0


def test_a_large_file_refused_by_its_background_preview_is_not_kept(owner_client):
    # Just past the limit: previewed by the worker (the immediate backend
    # runs it here), which refuses it.
    response = preview(owner_client, "besar.csv", b"Nama,No HP\n" + b"x,1\n" * 100_001)
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("admin:crm_importrecord_job", args=[job.pk])
    assert job.status == "failed"
    assert job.error == "Berkas berisi lebih dari 100.000 baris; paling banyak 100.000 baris " \
        "bisa diimpor sekaligus."
    assert stored_uploads() == 0


def test_a_file_whose_reading_raised_is_not_kept(owner_client, monkeypatch):
    def fail(self, in_stream, **kwargs):
        raise RuntimeError("a bug in a reader")

    monkeypatch.setattr(SpreadsheetCSV, "create_dataset", fail)
    response = preview(owner_client, "a.csv", b"Nama,No HP\nDewi,0812-3456-7890\n")
    assert response.context["form"].errors
    assert stored_uploads() == 0


def test_a_file_whose_preview_crashed_is_not_kept(owner_client, monkeypatch):
    def fail(self, *args, **kwargs):
        raise RuntimeError("a bug in the import")

    monkeypatch.setattr(CustomerResource, "import_data", fail)
    with pytest.raises(RuntimeError):
        preview(owner_client, "a.csv", b"Nama,No HP\nDewi,0812-3456-7890\n")
    assert stored_uploads() == 0


def test_a_previewed_file_is_kept_until_it_is_confirmed(owner_client):
    response = preview(owner_client, "a.csv", b"Nama,No HP\nDewi,0812-3456-7890\n")
    assert stored_uploads() == 1
    owner_client.post(CONFIRM_URL, {**response.context["confirm_form"].initial, "confirm": "1"})
    assert Customer.objects.count() == 1
    assert stored_uploads() == 0


def test_a_file_whose_confirmed_import_crashed_is_not_kept(owner_client, monkeypatch):
    response = preview(owner_client, "a.csv", b"Nama,No HP\nDewi,0812-3456-7890\n")
    monkeypatch.setattr(CustomerResource, "import_data", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        owner_client.post(CONFIRM_URL, {**response.context["confirm_form"].initial,
                                        "confirm": "1"})
    assert stored_uploads() == 0


def test_expired_uploads_are_deleted_when_another_is_stored(db):
    SharedUploadStorage(name="old").save(b"abandoned preview")
    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_import_upload SET expires = %s",
                       [connection.ops.adapt_datetimefield_value(long_ago)])
    assert stored_uploads() == 1
    SharedUploadStorage(name="new").save(xlsx_bytes([["Nama"]]))
    assert stored_uploads() == 1
    assert caches["import_uploads"].get(SharedUploadStorage.CACHE_PREFIX + "new") is not None


def test_a_waiting_upload_expires_after_two_hours(db):
    SharedUploadStorage(name="waiting").save(b"a preview's file")
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM crm_import_upload")
        (expires,) = cursor.fetchone()
    if isinstance(expires, str):  # SQLite returns the text
        expires = datetime.datetime.fromisoformat(expires)
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.UTC)
    left = expires - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=1, minutes=59) < left <= datetime.timedelta(hours=2)


def test_the_documented_proxy_limit_lets_the_largest_import_through():
    readme = (settings.BASE_DIR / "README.md").read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", readme).group(1))
    largest_import = settings.IMPORT_MAX_UPLOAD_MB * MB + IMPORT_FORM_OVERHEAD
    assert largest_import <= megabytes * MB < largest_import + MB
