"""Spreadsheets shaped like the ones shops in Blitar keep, tried through the admin as a
user would (issue 15): every number stored is the one in the file or its row is refused
quoting the cell, the preview's totals are what gets written, no page shows a traceback
or library words, and an export (re-saved by a spreadsheet program, or edited) imports
back without creating anyone."""

import csv
import datetime
import io
import os
import re
import shutil
import subprocess
import tempfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from crm.models import Customer, Opportunity, Stage

AUTOMATIC = ""
CUSTOMER_FIELDS = ["id", "name", "phone", "email", "business_name", "address", "city", "source",
                   "notes"]
OPPORTUNITY_FIELDS = ["id", "title", "customer_name", "customer", "amount", "stage",
                      "lost_reason", "expected_close_date"]

# What must never reach a page about an import (visible text only).
LEAKS = ["Traceback", "Error", "Exception", "KeyError", "ValueError", "TypeError",
         "AttributeError", "IndexError", "AssertionError", "BadZipFile", "UnicodeDecodeError",
         "InvalidOperation", "site-packages", "/work/", ".py\"", "import_id_fields", "tablib",
         "openpyxl", "Dataset", "resource", "encountered", 'File "', "NoneType"]


# --- Files as programs write them ---------------------------------------------------

def xlsx_bytes(rows, setup=None):
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    if setup:
        setup(book, book.active)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, delimiter=",", encoding="utf-8", lineterminator="\r\n"):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator=lineterminator).writerows(rows)
    return text.getvalue().encode(encoding)


def openpyxl_resave(data):
    book = openpyxl.load_workbook(io.BytesIO(data))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")


def libreoffice_convert(data, extension, target):
    """``data`` opened and saved again by LibreOffice (as a user re-saving a file)."""
    folder = tempfile.mkdtemp(prefix="lo-", dir="/tmp")
    source = os.path.join(folder, f"ekspor.{extension}")
    with open(source, "wb") as file:
        file.write(data)
    out = os.path.join(folder, "out")
    os.mkdir(out)
    subprocess.run(
        [LIBREOFFICE, f"-env:UserInstallation=file://{folder}/profile", "--headless",
         "--convert-to", target, "--outdir", out, source],
        check=True, capture_output=True, timeout=180,
    )
    (name,) = os.listdir(out)
    with open(os.path.join(out, name), "rb") as file:
        return file.read()


needs_libreoffice = pytest.mark.skipif(not LIBREOFFICE, reason="LibreOffice is not installed")


# --- Through the admin ------------------------------------------------------------

def page_text(response):
    html = response.content.decode(errors="replace")
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_plain(response):
    assert response.status_code in (200, 302), response.status_code
    text = page_text(response)
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} on the page: {text[:3000]}"
    return text


@pytest.fixture(params=[False, True], ids=["debug off", "debug on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def upload(client, model, name, data, skip_invalid=False):
    """The preview page for the file, as the user gets it (format found from the content)."""
    client.raise_request_exception = False
    post = {"import_file": SimpleUploadedFile(name, data), "format": AUTOMATIC, "resource": "0"}
    if skip_invalid:
        post["skip_invalid_rows"] = "on"
    response = client.post(reverse(f"admin:crm_{model}_import"), post)
    assert_plain(response)
    return response


def totals(response):
    return dict(response.context["result"].totals)


def confirm(client, model, response):
    form = response.context["confirm_form"]
    assert form is not None, "the preview offers no confirmation"
    done = client.post(reverse(f"admin:crm_{model}_process_import"),
                       {**form.initial, "confirm": "1"}, follow=True)
    assert_plain(done)
    return done


def skip_reasons(response):
    """{sheet row: its reasons} of the rows left out (Import only the valid rows)."""
    return {
        row.spreadsheet_row: " ".join(row.skipped_errors.messages)
        for row in response.context["result"].rows
        if getattr(row, "skipped_errors", None)
    }


def import_file(client, model, name, data, skip_invalid=False):
    """Preview, check the preview's totals are what gets written, confirm."""
    customers, opportunities = Customer.objects.count(), Opportunity.objects.count()
    response = upload(client, model, name, data, skip_invalid)
    counted = totals(response)
    confirm(client, model, response)
    created = (Customer.objects.count() - customers if model == "customer"
               else Opportunity.objects.count() - opportunities)
    assert created == counted["new"], (created, counted)
    return counted, response


def export(client, model, file_format):
    fields = CUSTOMER_FIELDS if model == "customer" else OPPORTUNITY_FIELDS
    response = client.post(reverse(f"admin:crm_{model}_export"), {
        "format": file_format, "resource": "0",
        **{f"{model}resource_{name}": "on" for name in fields},
    })
    assert response.status_code == 200
    return response.content


# --- Numbers: each stored as written, or its row refused quoting the cell ------------

# (cell as typed in a shop's sheet, the number it is)
TYPED_NUMBERS = [
    ("0812 3456 7890 (WA)", "6281234567890"),
    ("+62-812-3456-7891", "6281234567891"),
    ("62 812 3456 7892", "6281234567892"),
    ("'081234567893", "6281234567893"),
    ("0812345678\u00a093 ", "6281234567893"),
    ("0812 3456 7894 ", "6281234567894"),
    ("+62 (812) 3456-7895", "6281234567895"),
    ("0812.3456.7896", "6281234567896"),
    ("081234567897.0", "6281234567897"),
    ("6281234567898.0", "6281234567898"),
    ("8.1234567899E+10", "6281234567899"),
    ("+62 0812 3456 7900", "6281234567900"),
    ("(+62) 812-3456-7901", "6281234567901"),
    ("0812\u20133456\u20137902", "6281234567902"),  # an en dash, as Word autocorrects
    ("(0342) 801234", "62342801234"),  # a landline in Blitar
    ("Telp. 0342-801235", "62342801235"),
    ("+60 12-345 6789", "60123456789"),  # a customer in Malaysia
]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_numbers_typed_every_which_way_are_stored_as_written(admin_client, debug, file_format):
    rows = [["Nama", "No. HP / WA"]] + [
        [f"Pelanggan {index}", cell] for index, (cell, _digits) in enumerate(TYPED_NUMBERS)
    ]
    data = csv_bytes(rows) if file_format == "csv" else xlsx_bytes(rows)
    counted, _response = import_file(admin_client, "customer", f"p.{file_format}", data)
    expected = dict.fromkeys(digits for _cell, digits in TYPED_NUMBERS)
    # The same number twice (rows 5 and 6) is one customer, updated by the second row.
    assert counted["new"] == len(expected)
    assert sorted(Customer.objects.values_list("phone", flat=True)) == sorted(expected)
    assert Customer.objects.get(phone="6281234567893").name == "Pelanggan 4"


def test_number_cells_of_a_workbook_are_stored_as_the_numbers_shown(admin_client, debug):
    def formats(book, sheet):
        sheet["B3"].number_format = "0"
        sheet["B4"].number_format = "@"
        sheet["B5"].number_format = "#,##0"
        sheet["B6"].number_format = "0.00E+00"
        sheet["B7"].number_format = "00000000000"

    rows = [
        ["Nama", "Nomor WhatsApp"],
        ["Int", 81234567890],
        ["Int 62", 6281234567891],
        ["Float", 81234567892.0],
        ["Float 62", 6281234567893.0],
        ["E-notation", 6.281234567894e12],
        ["Leading zeros format", 81234567895],
    ]
    import_file(admin_client, "customer", "p.xlsx", xlsx_bytes(rows, formats))
    assert dict(Customer.objects.values_list("name", "phone")) == {
        "Int": "6281234567890", "Int 62": "6281234567891", "Float": "6281234567892",
        "Float 62": "6281234567893", "E-notation": "6281234567894",
        "Leading zeros format": "6281234567895",
    }


def test_an_autofilter_hidden_rows_and_columns_change_nothing(admin_client):
    def hide(book, sheet):
        sheet.auto_filter.ref = "A1:C4"
        sheet.column_dimensions["C"].hidden = True
        sheet.row_dimensions[3].hidden = True

    rows = [["Nama", "No HP", "Kota"], ["Ani", "0813-6666-0001", "Blitar"],
            ["Budi", "0813-6666-0002", "Wlingi"], ["Cici", "0813-6666-0003", "Kediri"]]
    import_file(admin_client, "customer", "p.xlsx", xlsx_bytes(rows, hide))
    assert dict(Customer.objects.values_list("phone", "city")) == {
        "6281366660001": "Blitar", "6281366660002": "Wlingi", "6281366660003": "Kediri",
    }


# (cell, a word of the reason) for numbers that cannot be stored as written
REFUSED_NUMBERS = [
    "0812-3456-7895 / 0813-1111-2222",  # two numbers in one cell
    "0812-3456-7890 atau 0813-1111-2222",
    "62812345678.99",
    "6.28123E+12",  # rounded by the spreadsheet: digits are missing
    "081-234",
]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_numbers_that_cannot_be_stored_as_written_are_refused_quoting_the_cell(
    admin_client, debug, file_format
):
    rows = [["Nama", "No HP"], ["Ani", "0813-6666-0010"]] + [
        [f"Salah {index}", cell] for index, cell in enumerate(REFUSED_NUMBERS)
    ]
    data = csv_bytes(rows) if file_format == "csv" else xlsx_bytes(rows)
    response = upload(admin_client, "customer", f"p.{file_format}", data, skip_invalid=True)
    reasons = skip_reasons(response)
    assert sorted(reasons) == list(range(3, 3 + len(REFUSED_NUMBERS)))
    for row, cell in enumerate(REFUSED_NUMBERS, 3):
        assert cell in reasons[row]
    text = page_text(response)
    assert "0812-3456-7895 / 0813-1111-2222" in text
    confirm(admin_client, "customer", response)
    assert list(Customer.objects.values_list("phone", flat=True)) == ["6281366660010"]


def test_spreadsheet_error_cells_are_refused_quoting_them(admin_client, debug):
    rows = [["Nama", "No HP"], ["Ani", "#DIV/0!"], ["Budi", "#N/A"], ["Cici", True]]
    response = upload(admin_client, "customer", "p.xlsx", xlsx_bytes(rows), skip_invalid=True)
    reasons = skip_reasons(response)
    assert "#DIV/0!" in reasons[2] and "#N/A" in reasons[3]
    confirm(admin_client, "customer", response)
    assert not Customer.objects.exists()


def test_a_number_already_known_typed_differently_updates_its_customer(
    admin_client, make_customer
):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890", city="Blitar")
    rows = [["Nama", "HP"], ["Dewi Lestari", "+62 812 3456 7890"],
            ["Dewi L.", 6281234567890]]
    counted, _response = import_file(admin_client, "customer", "p.xlsx", xlsx_bytes(rows))
    assert (counted["new"], counted["update"]) == (0, 2)
    dewi.refresh_from_db()
    assert (Customer.objects.count(), dewi.name, dewi.city) == (1, "Dewi L.", "Blitar")


# --- Headers and shapes -------------------------------------------------------------

@pytest.mark.parametrize("name_header, phone_header", [
    ("Nama", "No HP/WA"),
    ("Nama", "No. HP / WA"),
    (" NAMA  PELANGGAN ", "Nomor  WhatsApp:"),
    ("nama", "Telp."),
    ("Name", "Mobile Phone"),
    ("Nama", "No. WA"),
    ("Pelanggan", "no.hp"),
])
def test_indonesian_headers_with_odd_spacing_case_and_punctuation(
    admin_client, name_header, phone_header
):
    data = csv_bytes([[name_header, phone_header, "Alamat"], ["Ani", "0813-3333-0021", "Jl. X"]])
    import_file(admin_client, "customer", "p.csv", data)
    assert list(Customer.objects.values_list("name", "phone")) == [("Ani", "6281333330021")]


def test_a_merged_title_above_the_header_is_passed_over_and_named(admin_client, debug):
    def merge(book, sheet):
        sheet.merge_cells("A1:D1")

    rows = [["DATA PELANGGAN TOKO BU SUM"], ["No", "Nama", "No HP/WA", "Alamat"],
            [1, "Ani", "0812-2222-0001", "Blitar"], [2, "Budi", 81222220002, "Wlingi"]]
    response = upload(admin_client, "customer", "p.xlsx", xlsx_bytes(rows, merge))
    assert "baris 2" in page_text(response)
    assert totals(response)["new"] == 2
    confirm(admin_client, "customer", response)
    assert dict(Customer.objects.values_list("name", "phone")) == {
        "Ani": "6281222220001", "Budi": "6281222220002",
    }


@pytest.mark.parametrize("label, data", [
    ("semicolons, Windows-1252", "Nama;No HP;Kota\r\nJosé;0813-5555-0002;Blitar\r\n"
                                 .encode("cp1252")),
    ("Excel CSV UTF-8 (BOM)", "\ufeffNama,No HP,Kota\r\nJosé,0813-5555-0002,Blitar\r\n"
                              .encode()),
    ("Unicode Text (UTF-16, tabs)", "Nama\tNo HP\tKota\r\nJosé\t0813-5555-0002\tBlitar\r\n"
                                    .encode("utf-16")),
    ("Google Sheets (LF)", b"Nama,No HP,Kota\nJos\xc3\xa9,81355550002,Blitar\n"),
])
def test_csv_from_excel_and_google_sheets_in_their_encodings(admin_client, label, data):
    import_file(admin_client, "customer", "p.csv", data)
    assert list(Customer.objects.values_list("name", "phone", "city")) == [
        ("José", "6281355550002", "Blitar")
    ]


def test_a_quoted_cell_with_a_line_break_and_crlf(admin_client):
    data = (b'Nama,No HP,Alamat\r\nAni,0813-5555-0001,"Jl. Anggrek 3\r\nRT 1 RW 2"\r\n'
            b"Budi,0813-5555-0003,\r\n")
    import_file(admin_client, "customer", "p.csv", data)
    ani = Customer.objects.get(name="Ani")
    assert ani.phone == "6281355550001" and "RT 1 RW 2" in ani.address
    assert Customer.objects.get(name="Budi").phone == "6281355550003"


def test_emoji_and_non_breaking_spaces_in_names(admin_client):
    data = csv_bytes([["Nama", "No HP"], ["Bu\u00a0Sum 🌶️🍌 ", "0813-5555-0006"]])
    import_file(admin_client, "customer", "p.csv", data)
    assert Customer.objects.get().name == "Bu Sum 🌶️🍌"


def test_a_name_too_long_is_refused_in_plain_words(admin_client):
    data = csv_bytes([["Nama", "No HP"], ["A" * 250, "0813-5555-0005"]])
    response = upload(admin_client, "customer", "p.csv", data, skip_invalid=True)
    assert "200" in skip_reasons(response)[2]
    confirm(admin_client, "customer", response)
    assert not Customer.objects.exists()


@pytest.mark.parametrize("name, data", [
    ("kosong.csv", b""),
    ("judul.csv", b"Nama,No HP\r\n"),
    ("judul.xlsx", xlsx_bytes([["Nama", "No HP"]])),
    ("kosong.xlsx", xlsx_bytes([])),
])
def test_an_empty_file_or_only_headers_gets_a_sentence_and_writes_nothing(
    admin_client, debug, name, data
):
    response = upload(admin_client, "customer", name, data)
    assert response.context.get("confirm_form") is None
    assert response.context["form"].errors["import_file"]
    assert not Customer.objects.exists()


def _chart_sheet_active(book, sheet):
    from openpyxl.chart import BarChart, Reference

    chart_sheet = book.create_chartsheet("Grafik")
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, min_row=1, max_row=2))
    chart_sheet.add_chart(chart)
    book.active = 1


def test_a_workbook_saved_with_its_chart_sheet_selected_imports_its_data(admin_client):
    import_file(admin_client, "customer", "p.xlsx", xlsx_bytes(
        [["Nama", "No HP"], ["Ani", "0813-7777-0001"]], _chart_sheet_active))
    assert list(Customer.objects.values_list("name", "phone")) == [("Ani", "6281377770001")]


BROKEN_FILES = {
    "a web page saved as .xls": ("p.xls", lambda: (
        b"<html><body><table><tr><td>Nama</td><td>No HP</td></tr>"
        b"<tr><td>Ani</td><td>0813</td></tr></table></body></html>")),
    "Excel 2003 XML": ("p.xls", lambda: (
        b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
        b'<Worksheet ss:Name="S"><Table><Row><Cell><Data ss:Type="String">Nama</Data></Cell>'
        b"</Row></Table></Worksheet></Workbook>")),
    "a PDF named .csv": ("p.csv", lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"),
    "a NUL byte": ("p.csv", lambda: b"Nama,No HP\nAni\x00,0813-7777-0002\n"),
    "an empty zip named .xlsx": ("p.xlsx", lambda: b"PK\x05\x06" + b"\x00" * 18),
    "a cell split by a stray comma": ("p.csv", lambda: b"Nama,No HP\nAni,0813-7777-0008,x\n"),
    "a cut-off vCard": ("k.vcf", lambda: b"BEGIN:VCARD\nVERSION:3.0\nFN:Ani\nTEL:0813\n"),
    "only a summary sheet": ("p.xlsx", lambda: xlsx_bytes([["Kota", "Jumlah"], ["Blitar", 2]])),
}


@pytest.mark.parametrize("model", ["customer", "opportunity"])
@pytest.mark.parametrize("label", list(BROKEN_FILES))
def test_broken_files_get_plain_words_and_write_nothing(admin_client, debug, model, label):
    name, build = BROKEN_FILES[label]
    response = upload(admin_client, model, name, build())
    assert response.context.get("confirm_form") is None
    form_errors = response.context["form"].errors if response.context.get("form") else {}
    result = response.context.get("result")
    assert form_errors or (result is not None and result.has_errors())
    assert not Customer.objects.exists() and not Opportunity.objects.exists()


@needs_libreoffice
def test_a_libreoffice_ods_is_refused_in_plain_words(admin_client, debug):
    ods = libreoffice_convert(
        xlsx_bytes([["Nama", "No HP"], ["Ani", "0813-7777-0001"]]), "xlsx", "ods"
    )
    response = upload(admin_client, "customer", "p.ods", ods)
    assert response.context["form"].errors["import_file"]
    assert not Customer.objects.exists()


# --- Opportunities: amounts, stages, dates ------------------------------------------

def opportunity_rows(column, values, **fixed):
    header = ["Judul", "Pelanggan", "No HP", "Nilai", "Tahap", "Alasan Batal",
              "Perkiraan Closing"]
    base = {"Nilai": "1000", "Tahap": "Prospek", "Alasan Batal": "", "Perkiraan Closing": "",
            **fixed}
    rows = [header]
    for index, value in enumerate(values):
        row = {**base, column: value}
        rows.append([f"Baris {index}", "Dewi", "0812-3456-7890", row["Nilai"], row["Tahap"],
                     row["Alasan Batal"], row["Perkiraan Closing"]])
    return rows


@pytest.fixture
def dewi(make_customer):
    return make_customer(name="Dewi", phone="0812-3456-7890")


def test_rupiah_amounts_as_shops_write_them(admin_client, dewi, debug):
    written = ["Rp1.500.000,00", "1.500.000", "Rp 1.500.000", "1 500 000", "Rp\u00a01.500.000",
               "1500000", "rp 1.500.000,00", "Rp 1.500.000,-", "1500000.0", "1500000.00",
               "1,500,000", "Rp 1,500,000.00", "1,5 jt", "1,5 juta", "1500rb", "IDR 1.500.000"]
    import_file(admin_client, "opportunity", "o.csv",
                csv_bytes(opportunity_rows("Nilai", written)))
    assert set(Opportunity.objects.values_list("amount", flat=True)) == {1_500_000}
    assert Opportunity.objects.count() == len(written)


def test_rupiah_amounts_as_numbers_in_a_workbook(admin_client, dewi):
    rows = opportunity_rows("Nilai", [1500000, 1500000.0, 750000])
    import_file(admin_client, "opportunity", "o.xlsx", xlsx_bytes(rows))
    assert sorted(Opportunity.objects.values_list("amount", flat=True)) == [
        750_000, 1_500_000, 1_500_000
    ]


def test_amounts_that_are_not_rupiah_are_refused_quoting_the_cell(admin_client, dewi, debug):
    # Negative, a fraction of a rupiah, or a unit we do not know: never a
    # guessed amount (1500000.5 is not 15,000,005).
    refused = ["(500.000)", "-500.000", "1.5", "1500000.5", "Rp 1.500.000,50", "1,5 M", "TRUE"]
    response = upload(admin_client, "opportunity", "o.csv",
                      csv_bytes(opportunity_rows("Nilai", refused)), skip_invalid=True)
    reasons = skip_reasons(response)
    assert sorted(reasons) == list(range(2, 2 + len(refused)))
    for row, cell in enumerate(refused, 2):
        assert cell in reasons[row]
    confirm(admin_client, "opportunity", response)
    assert not Opportunity.objects.exists()


def test_stage_names_in_either_language_and_any_case(admin_client, dewi):
    stages = {"Prospek": Stage.PROSPECT, "prospect": Stage.PROSPECT, "Dihubungi": Stage.CONTACTED,
              "  penawaran  ": Stage.PROPOSAL, "NEGOSIASI": Stage.NEGOTIATION,
              "Menang": Stage.WON, "Won": Stage.WON, "Batal": Stage.LOST, "lost": Stage.LOST}
    import_file(admin_client, "opportunity", "o.csv", csv_bytes(
        opportunity_rows("Tahap", list(stages), **{"Alasan Batal": "Harga"})))
    stored = dict(Opportunity.objects.values_list("title", "stage"))
    assert stored == {f"Baris {index}": stage for index, stage in enumerate(stages.values())}


def test_unknown_stage_names_are_refused_listing_the_known_ones(admin_client, dewi, debug):
    unknown = ["DEAL", "Closing", "Kalah", "Nego", "Follow up", "Lunas"]
    response = upload(admin_client, "opportunity", "o.csv",
                      csv_bytes(opportunity_rows("Tahap", unknown)), skip_invalid=True)
    reasons = skip_reasons(response)
    for row, cell in enumerate(unknown, 2):
        assert cell in reasons[row] and "Prospek" in reasons[row]
    confirm(admin_client, "opportunity", response)
    assert not Opportunity.objects.exists()


def test_dates_as_typed_here(admin_client, dewi):
    dates = ["31/12/2026", "31-12-2026", "31.12.2026", "2026-12-31"]
    import_file(admin_client, "opportunity", "o.csv",
                csv_bytes(opportunity_rows("Perkiraan Closing", dates)))
    assert set(Opportunity.objects.values_list("expected_close_date", flat=True)) == {
        datetime.date(2026, 12, 31)
    }


def test_dates_that_are_not_dates_are_refused_quoting_the_cell(admin_client, dewi, debug):
    refused = ["12/31/2026", "31 Desember 2026", "31/02/2026", "-"]
    response = upload(admin_client, "opportunity", "o.csv",
                      csv_bytes(opportunity_rows("Perkiraan Closing", refused)),
                      skip_invalid=True)
    reasons = skip_reasons(response)
    for row, cell in enumerate(refused, 2):
        assert cell in reasons[row]


def test_a_date_cell_of_a_workbook(admin_client, dewi):
    rows = opportunity_rows("Perkiraan Closing", [datetime.date(2026, 12, 31)])
    import_file(admin_client, "opportunity", "o.xlsx", xlsx_bytes(rows))
    assert Opportunity.objects.get().expected_close_date == datetime.date(2026, 12, 31)


def test_a_new_number_with_a_name_adds_the_customer_once(admin_client, dewi):
    rows = [["Judul", "Pelanggan", "No HP", "Nilai"],
            ["Kripik", "Bu Sum", "0857 1111 2222", "Rp 800.000"],
            ["Batik", "Bu Sum", "+62 857-1111-2222", "Rp 1.200.000"],
            ["Kopi", "Dewi Lestari", "62812 3456 7890", "50.000"]]
    import_file(admin_client, "opportunity", "o.csv", csv_bytes(rows))
    assert Customer.objects.count() == 2
    assert dict(Opportunity.objects.values_list("title", "customer__phone")) == {
        "Kripik": "6285711112222", "Batik": "6285711112222", "Kopi": "6281234567890",
    }


# --- Export, re-save, import: nothing new, nothing changed --------------------------

@pytest.fixture
def shop(make_customer, make_opportunity):
    """The demo shop, plus the awkward ones: emoji, line breaks, formula-like cells,
    customers without a number, a foreign number."""
    call_command("load_demo", stdout=io.StringIO())
    sum_ = make_customer(name="Bu Sum 😀 Kripik", phone="0812-3456-7890", address="-",
                         notes="baris 1\nbaris 2")
    make_customer(name="0812 nama angka", phone="", notes="=1+1")
    make_customer(name="Tanpa HP", phone="", city="Blitar")
    make_customer(name="Pak Li", phone="+60 12-345 6789")
    make_opportunity(customer=sum_, title="Kripik 1/2 kg", amount=1_500_000,
                     stage=Stage.NEGOTIATION, expected_close_date=datetime.date(2026, 3, 4))
    make_opportunity(customer=sum_, title="- Batik", amount=0, stage=Stage.LOST,
                     lost_reason="=mahal", expected_close_date=datetime.date(2026, 12, 31))


def snapshot():
    return (list(Customer.objects.order_by("pk").values(*CUSTOMER_FIELDS, "updated_at")),
            list(Opportunity.objects.order_by("pk").values(
                "id", "title", "customer_id", "amount", "stage", "lost_reason",
                "expected_close_date", "updated_at")))


def assert_no_op(client, model, name, data):
    before = snapshot()
    counted, _response = import_file(client, model, name, data)
    assert (counted["new"], counted["update"], counted["invalid"], counted["error"]) == (
        0, 0, 0, 0
    ), counted
    assert snapshot() == before


RESAVES = {
    "csv as exported": ("0", "csv", lambda data: data),
    "xlsx as exported": ("1", "xlsx", lambda data: data),
    "xlsx re-saved by openpyxl": ("1", "xlsx", openpyxl_resave),
}


@pytest.mark.parametrize("model", ["customer", "opportunity"])
@pytest.mark.parametrize("resave", list(RESAVES))
def test_an_export_imports_back_as_no_change(admin_client, shop, model, resave):
    file_format, extension, transform = RESAVES[resave]
    data = transform(export(admin_client, model, file_format))
    assert_no_op(admin_client, model, f"ekspor.{extension}", data)


@needs_libreoffice
@pytest.mark.parametrize("model", ["customer", "opportunity"])
@pytest.mark.parametrize("target", ["xlsx", "xls"])
def test_an_xlsx_export_re_saved_by_libreoffice_imports_back_as_no_change(
    admin_client, shop, model, target
):
    data = libreoffice_convert(export(admin_client, model, "1"), "xlsx", target)
    assert_no_op(admin_client, model, f"ekspor.{target}", data)


@pytest.mark.parametrize("model, column, value", [
    ("customer", "Kota", "Kediri"),
    ("opportunity", "Nilai", 2_250_000),
])
def test_an_export_with_one_cell_edited_changes_only_that(admin_client, shop, model,
                                                           column, value):
    data = export(admin_client, model, "1")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    edited_id = sheet.cell(row=3, column=1).value
    sheet.cell(row=3, column=headers.index(column) + 1).value = value
    buffer = io.BytesIO()
    book.save(buffer)
    counted, _response = import_file(admin_client, model, "ekspor.xlsx", buffer.getvalue())
    assert (counted["new"], counted["update"]) == (0, 1)
    if model == "customer":
        assert Customer.objects.get(pk=edited_id).city == value
    else:
        assert Opportunity.objects.get(pk=edited_id).amount == value


def test_an_export_imported_twice_creates_nobody(admin_client, shop):
    data = export(admin_client, "customer", "0")
    customers = Customer.objects.count()
    for _ in range(2):
        import_file(admin_client, "customer", "ekspor.csv", data)
    assert Customer.objects.count() == customers
