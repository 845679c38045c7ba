"""Files shaped like the ones shops keep, and broken ones: each imports, or gets plain
words and what to do; no traceback, exception name, server path or library message."""

import codecs
import datetime
import re

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from crm.models import Customer, ImportRecord
from crm.resources import CustomerResource
from crm.spreadsheets import import_error_message
from tests.spreadsheet_files import xlsx_bytes
from tests.test_customer_import import CSV_FORMAT, XLS_FORMAT, XLSX_FORMAT, confirm, preview

# What must never reach a page about an import.
LEAKS = ["Traceback", "Error", "Exception", "KeyError", "ValueError", "AssertionError",
         "BadZipFile", "UnicodeDecodeError", "FieldError", "IntegrityError", "site-packages",
         "/work/", "import_id_fields", "encountered", "File \""]


def csv_upload(text, name="pelanggan.csv", encoding="utf-8"):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    return SimpleUploadedFile(name, data, content_type="text/csv")


def xlsx_upload(rows, name="pelanggan.xlsx"):
    return SimpleUploadedFile(name, xlsx_bytes(rows))


def page_text(response):
    """The page as the user reads it: its text, without tags, scripts and styles."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_plain(response):
    text = page_text(response)
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} on the page: {text[:2000]}"
    return text


@pytest.fixture(params=[False, True], ids=["debug off", "debug on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


SHOP_SHEET = [
    ["DAFTAR PELANGGAN TOKO BU SUM"],
    ["Per tanggal", datetime.date(2026, 12, 1)],
    [],
    ["No.", "Nama Pelanggan", "No. HP / WA", "Alamat"],
    [1, "Bu Sum", "0812-3456-7890", "Jl. Merdeka 1"],
    [2, "Pak Darto", 81311112222, "Jl. Kenanga 5"],
    [],
    [3, "Dewi", "0857 1234 5678", "Kediri"],
]


def test_a_header_below_a_title_a_date_and_blank_rows_is_found_and_named(admin_client, debug):
    response = preview(admin_client, xlsx_upload(SHOP_SHEET), XLSX_FORMAT)
    text = assert_plain(response)
    assert "Judul kolom diambil dari baris 4" in text
    assert dict(response.context["result"].totals)["new"] == 3
    assert "No." in response.context["result"].unknown_columns
    confirm(admin_client, response)
    assert dict(Customer.objects.values_list("name", "phone")) == {
        "Bu Sum": "6281234567890", "Pak Darto": "6281311112222", "Dewi": "6285712345678",
    }


def test_a_csv_with_a_title_row_without_delimiters_is_read_by_its_header(admin_client, debug):
    upload = csv_upload("Daftar Pelanggan\n\nNama;No HP;Kota\nBu Sum;0812-3456-7890;Blitar\n")
    response = preview(admin_client, upload)
    assert "Judul kolom diambil dari baris 3" in assert_plain(response)
    confirm(admin_client, response)
    assert Customer.objects.get().city == "Blitar"


def test_row_numbers_are_the_sheets_own_with_blank_lines_and_a_title(admin_client):
    upload = csv_upload("Nama,No HP\n\n\nBu Sum,0812-3456-7890\nPak Darto,12345\n")
    response = preview(admin_client, upload)
    (invalid,) = response.context["result"].invalid_rows
    assert re.search(r"<td>5</td>", response.content.decode())  # the sheet's row 5
    upload = csv_upload("Daftar\n\nNama,No HP\n\nPak Darto,12345\n")
    response = preview(admin_client, upload)
    assert re.search(r"<td>5</td>", response.content.decode())


def test_a_skipped_row_is_named_by_the_sheets_row(admin_client):
    upload = csv_upload("Daftar\nNama,No HP\n\nPak Darto,12345\nBu Sum,0812-3456-7890\n")
    response = preview(admin_client, upload, skip_invalid_rows="on")
    assert "Baris 4" in page_text(response)


def test_a_file_without_name_or_number_columns_gets_one_sentence_listing_them(
    admin_client, debug
):
    upload = csv_upload("Birthday,Group Membership,Hobi\n1990-01-01,* myContacts,Menari\n")
    response = preview(admin_client, upload)
    text = assert_plain(response)
    assert ("Berkas tidak punya kolom Nama atau No HP. Kolom yang ada: Birthday, Group "
            "Membership, Hobi. Kolom yang diharapkan: Nama, No HP, Email") in text
    assert "Beri nama kolom seperti pada templat" in text
    assert "Kesalahan: 0" not in text  # no totals beside it
    assert response.context.get("confirm_form") is None


def test_the_sentence_is_english_for_an_english_user(db):
    dataset = tablib.Dataset(["1990-01-01", "Menari"], headers=["Birthday", "Hobi"])
    with translation.override("en"):
        result = CustomerResource().import_data(dataset, dry_run=True)
        (error,) = result.base_errors
        assert import_error_message(error.error) == (
            "The file has no Nama or No HP column. Columns found: Birthday, Hobi. Columns "
            "expected: Nama, No HP, Email, Nama Usaha, Alamat, Kota, Sumber, Catatan. Name "
            "the columns as in the template and upload the file again."
        )


def test_a_file_with_names_but_no_number_column_imports(admin_client):
    response = preview(admin_client, csv_upload("Nama,Kota\nBu Sum,Blitar\nPak Darto,Wlingi\n"))
    assert_plain(response)
    confirm(admin_client, response)
    assert Customer.objects.filter(phone=None).count() == 2


def test_a_utf16_unicode_text_file_from_excel_is_read(admin_client, debug):
    text = "Nama\tNo HP\tKota\r\nJosé Gonçalves\t0812-3456-7890\tBlitar\r\n"
    upload = csv_upload(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), name="pelanggan.txt")
    response = preview(admin_client, upload)
    assert_plain(response)
    confirm(admin_client, response)
    assert Customer.objects.get().name == "José Gonçalves"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_without_a_byte_order_mark_is_read(admin_client, encoding):
    upload = csv_upload("Nama\tNo HP\nDewi\t0812-3456-7890\n".encode(encoding))
    confirm(admin_client, preview(admin_client, upload))
    assert Customer.objects.get().name == "Dewi"


def test_one_header_like_value_below_the_first_row_does_not_move_the_header(admin_client):
    upload = csv_upload("Nama Lengkap,Sumber Info\nBu Sum,WhatsApp\n")
    response = preview(admin_client, upload)
    assert "Kolom yang ada: Nama Lengkap, Sumber Info" in page_text(response)


def test_a_picture_renamed_csv_is_refused_in_plain_words(admin_client, debug):
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
           b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\x00\x01\x00\x00\x05\x00"
           b"\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82")
    response = preview(admin_client, csv_upload(png, name="foto.csv"))
    text = assert_plain(response)
    assert "bukan lembar kerja yang disimpan sebagai teks (CSV)" in text
    assert "simpan sebagai CSV atau Excel (.xlsx)" in text


@pytest.mark.parametrize("file_format,data", [
    (XLSX_FORMAT, b"PK\x03\x04 not really a zip"),
    (XLSX_FORMAT, b"Nama,No HP\nBu Sum,0812\n"),
    (XLS_FORMAT, b"Nama,No HP\nBu Sum,0812\n"),
    (CSV_FORMAT, b""),
    (CSV_FORMAT, b"\n\n\n"),
    (CSV_FORMAT, b"Nama,No HP\n"),
    (CSV_FORMAT, b'Nama,No HP\n"Bu Sum,0812\n'),
])
def test_a_broken_file_gets_plain_words(admin_client, debug, file_format, data):
    response = preview(admin_client, SimpleUploadedFile("rusak.csv", data), file_format)
    assert_plain(response)
    assert response.context.get("confirm_form") is None or not Customer.objects.exists()


def test_a_byte_windows_1252_cannot_decode_is_read_as_latin_1(admin_client, debug):
    data = "Nama;No HP\nBu Sum;0812-3456-7890\n".encode("cp1252").replace(b"Sum", b"Sum\x81")
    response = preview(admin_client, csv_upload(data))
    assert_plain(response)
    confirm(admin_client, response)
    assert Customer.objects.get().phone == "6281234567890"


def test_invisible_characters_are_cleaned_from_names_and_cells(admin_client):
    upload = csv_upload(
        "\u200bNama,No HP,Kota\n"
        "Bu\u00a0Sum\u200b,\u202a0812-3456-7890\u202c,\u200fBlitar\u00a0Kota\u2066\n"
    )
    confirm(admin_client, preview(admin_client, upload))
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.city) == (
        "Bu Sum", "6281234567890", "Blitar Kota"
    )


def test_a_failure_inside_the_import_is_said_in_plain_words(admin_client, debug, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("/work/main/.venv/lib/site-packages/import_export something")

    monkeypatch.setattr("crm.resources.CustomerResource.after_import", broken)
    response = preview(admin_client, csv_upload("Nama,No HP\nBu Sum,0812-3456-7890\n"))
    text = assert_plain(response)
    assert "Tidak ada yang ditulis" in text


def test_an_import_is_named_with_the_time_in_jakarta(admin_client):
    confirm(admin_client, preview(admin_client, csv_upload("Nama\nBu Sum\n")))
    record = ImportRecord.objects.get()
    record.imported_at = datetime.datetime(2026, 12, 1, 13, 20, tzinfo=datetime.UTC)
    assert str(record).endswith("(2026-12-01 20:20)")
