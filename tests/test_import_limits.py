"""Spreadsheet imports stop reading at their limits (crm.spreadsheets), with real
files posted to the admin's import page by a shop owner."""

import io
import itertools
import zipfile

import pytest
import xlwt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Customer
from crm.resources import CustomerResource
from crm.spreadsheets import SpreadsheetRefused, SpreadsheetXLSX, read_rows
from tests.spreadsheet_files import xlsx_bytes

IMPORT_URL = reverse("admin:crm_customer_import")
CSV_FORMAT, XLSX_FORMAT, XLS_FORMAT = "0", "1", "2"


@pytest.fixture
def rows_imported(monkeypatch):
    """How many rows reached the resource's import_row."""
    calls = []
    original = CustomerResource.import_row

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CustomerResource, "import_row", counting)
    return calls


def with_sheet(xlsx, write_sheet):
    """``xlsx`` with its first sheet's XML replaced by what write_sheet(stream) writes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with target.open(item.filename, "w") as sheet:
                    write_sheet(sheet, source.read(item.filename))
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


def zip_bomb(cell_mb):
    """A real .xlsx whose second row is one cell of ``cell_mb`` MB ("aaa…"):
    about 1 KB packed per MB unpacked."""

    def write(sheet, _original):
        sheet.write(
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Nama</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>No HP</t></is></c></row>'
            b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
        )
        megabyte = b"a" * (1024 * 1024)
        for _ in range(cell_mb):
            sheet.write(megabyte)
        sheet.write(b"</t></is></c></row></sheetData></worksheet>")

    return with_sheet(xlsx_bytes([["Nama", "No HP"]]), write)


def preview(client, name, data, file_format):
    response = client.post(IMPORT_URL, {
        "import_file": SimpleUploadedFile(name, data), "format": file_format, "resource": "0",
    })
    assert response.status_code == 200
    return response


def refusal(response):
    """The import form's error about the file, as the user reads it."""
    assert response.context.get("confirm_form") is None
    return " ".join(response.context["form"].errors["import_file"])


def test_a_million_row_csv_is_refused_after_the_row_limit_and_no_row_is_imported(
    owner_client, rows_imported
):
    data = b"Nama,No HP\n" + b"x,1\n" * 1_000_000  # 4 MB, as in the security report
    response = preview(owner_client, "besar.csv", data, CSV_FORMAT)
    assert refusal(response) == (
        "Berkas berisi lebih dari 100.000 baris; paling banyak 100.000 baris bisa diimpor "
        "sekaligus."
    )
    assert "result" not in response.context
    assert rows_imported == []


def test_the_row_limit_is_in_english_for_english_users(owner_client, settings):
    settings.IMPORT_MAX_ROWS = 1000
    owner_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = preview(owner_client, "besar.csv", b"Nama,No HP\n" + b"x,1\n" * 1001, CSV_FORMAT)
    assert "at most 1,000 can be imported" in refusal(response)


def test_a_file_with_exactly_the_row_limit_is_read(owner_client, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = [["Nama", "No HP"]] + [[f"Orang {i}", f"0812-3456-780{i}"] for i in range(3)]
    response = preview(owner_client, "pas.xlsx", xlsx_bytes(rows), XLSX_FORMAT)
    assert dict(response.context["result"].totals)["new"] == 3


@pytest.mark.parametrize("file_format", [XLSX_FORMAT, XLS_FORMAT])
def test_a_workbook_past_the_row_limit_is_refused(owner_client, settings, file_format):
    settings.IMPORT_MAX_ROWS = 2
    rows = [["Nama", "No HP"]] + [[f"Orang {i}", f"0812-3456-780{i}"] for i in range(3)]
    if file_format == XLSX_FORMAT:
        data = xlsx_bytes(rows)
    else:
        book = xlwt.Workbook()
        sheet = book.add_sheet("Sheet1")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        buffer = io.BytesIO()
        book.save(buffer)
        data = buffer.getvalue()
    response = preview(owner_client, "besar.xls", data, file_format)
    assert "paling banyak 2 baris" in refusal(response)
    assert not Customer.objects.exists()


def test_reading_stops_at_the_row_after_the_limit(settings):
    settings.IMPORT_MAX_ROWS = 30  # past the first rows, read together (HEADER_SEARCH_ROWS)
    endless = (["x", "1"] for _ in itertools.count())
    read = []
    with pytest.raises(SpreadsheetRefused):
        read_rows(row for row in endless if not read.append(1))
    assert len(read) == 32  # the header, thirty rows, and the one too many


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(owner_client):
    bomb = zip_bomb(cell_mb=20)
    assert len(bomb) < 40_000
    response = preview(owner_client, "bom.xlsx", bomb, XLSX_FORMAT)
    assert "bom zip" in refusal(response)


def test_an_xlsx_unpacking_past_the_size_limit_is_refused(owner_client, settings):
    settings.IMPORT_MAX_UNPACKED_MB = 0
    data = xlsx_bytes([["Nama", "No HP"], ["Dewi", "0812-3456-7890"]])
    response = preview(owner_client, "kecil.xlsx", data, XLSX_FORMAT)
    assert "lebih dari 0 MB" in refusal(response)


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_a_cell_longer_than_excel_allows_is_refused(owner_client, file_format):
    long_name = "x" * 32_768
    if file_format == CSV_FORMAT:
        data = f"Nama,No HP\n{long_name},0812-3456-7890\n".encode()
    else:
        # openpyxl cuts what it writes to Excel's limit; other programs may not.
        data = with_sheet(
            xlsx_bytes([["Nama", "No HP"], ["LONG", "0812-3456-7890"]]),
            lambda sheet, original: sheet.write(original.replace(b"LONG", long_name.encode())),
        )
    response = preview(owner_client, "panjang", data, file_format)
    assert refusal(response) == "Baris 2 berisi sel yang lebih panjang dari 32.767 karakter."


def test_reading_stops_after_its_time(owner_client, settings):
    settings.IMPORT_READ_SECONDS = 0
    response = preview(owner_client, "a.csv", b"Nama,No HP\nDewi,0812-3456-7890\n", CSV_FORMAT)
    assert "lebih dari 0 detik" in refusal(response)


def test_a_sheet_claiming_every_column_is_read_as_the_columns_it_has():
    def claim_everything(sheet, original):
        sheet.write(original.replace(b'<dimension ref="A1:B2" />',
                                     b'<dimension ref="A1:XFD1048576" />'))

    data = with_sheet(xlsx_bytes([["Nama", "No HP"], ["Dewi", "0812-3456-7890"]]),
                      claim_everything)
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    dataset = SpreadsheetXLSX().create_dataset(data)
    assert (dataset.width, dataset.height) == (2, 1)


def test_a_file_with_too_many_columns_is_refused(owner_client):
    header = ",".join(f"Kolom {i}" for i in range(101))
    response = preview(owner_client, "lebar.csv", f"{header}\n".encode(), CSV_FORMAT)
    assert refusal(response) == "Berkas berisi lebih dari 100 kolom."


def test_a_csv_row_split_by_a_stray_comma_is_refused_with_its_number(owner_client):
    data = b"Nama,No HP\nDewi,0812-3456-7890\nToko Maju, Jaya,0857-1111-2222\n"
    response = preview(owner_client, "koma.csv", data, CSV_FORMAT)
    assert refusal(response).startswith("Baris 3 berisi lebih banyak sel daripada baris judul.")


def test_an_unreadable_file_gets_a_sentence_not_an_exception_name(owner_client):
    response = preview(owner_client, "bukan.xlsx", b"PK\x03\x04 not really a zip", XLSX_FORMAT)
    assert refusal(response) == "Berkas ini bukan buku kerja .xlsx."
    broken = xlsx_bytes([["Nama"]]).replace(b"xl/workbook.xml", b"xl/workbook.xmX")
    message = refusal(preview(owner_client, "rusak.xlsx", broken, XLSX_FORMAT))
    assert message.startswith("Berkas tidak bisa dibaca.")
    assert "Error" not in message and "encountered" not in message
