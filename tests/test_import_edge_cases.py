"""Real-world spreadsheets that once stored a wrong number or amount, a customer without
its number, or a totals row (found by trying shops' files through the admin, issue 15)."""
import datetime
import io
import zipfile

import pytest

from crm.models import Customer, Opportunity
from tests.test_import_realworld import (
    confirm,
    csv_bytes,
    export,
    libreoffice_convert,
    needs_libreoffice,
    opportunity_rows,
    skip_reasons,
    totals,
    upload,
    xlsx_bytes,
)


def preview_then_confirm(client, model, name, data):
    response = upload(client, model, name, data, skip_invalid=True)
    confirm(client, model, response)
    return response


@pytest.mark.parametrize("cell", ["08123456789O", "0812345679O5", "0812l3456789",
                                  "0813-8888-OOO4", "0812-345-WAWA"])
def test_1_a_letter_in_a_number_is_refused_not_dropped_or_keypadded(admin_client, cell):
    response = preview_then_confirm(admin_client, "customer", "p.csv",
                                    csv_bytes([["Nama", "No HP"], ["Ani", cell]]))
    assert list(Customer.objects.values_list("phone", flat=True)) == []
    assert cell in skip_reasons(response)[2]


@pytest.mark.parametrize("cell, amount", [("1500000.0", 1_500_000), ("1500000.00", 1_500_000),
                                          ("1.5", None), ("1500000.5", None)])
def test_2_amounts_with_a_decimal_point_are_not_multiplied(admin_client, make_customer, cell,
                                                            amount):
    make_customer(name="Dewi", phone="0812-3456-7890")
    preview_then_confirm(admin_client, "opportunity", "o.csv",
                         csv_bytes(opportunity_rows("Nilai", [cell])))
    stored = list(Opportunity.objects.values_list("amount", flat=True))
    assert stored == ([amount] if amount else [])


def test_3_float_noise_of_a_formula_amount_is_rounded_not_truncated(admin_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    preview_then_confirm(admin_client, "opportunity", "o.xlsx",
                         xlsx_bytes(opportunity_rows("Nilai", [0.57 * 100_000_000])))  # =0.57*1e8
    assert Opportunity.objects.get().amount == 57_000_000


@pytest.mark.parametrize("headers", [["Nama", "HP 1", "HP 2"], ["Nama", "Nomor HP/WA"],
                                     ["Nama", "No. Telp/HP"], ["Nama", "Nomor Telepon"],
                                     ["Nama", "WA/HP"], ["Nama", "Kontak"]])
def test_4_a_phone_column_not_recognised_never_imports_customers_without_their_numbers(
        admin_client, headers):
    rows = [headers, ["Ani", "0812-2222-0001"] + [""] * (len(headers) - 2)]
    for _ in range(2):  # the same file twice
        response = upload(admin_client, "customer", "p.csv", csv_bytes(rows))
        if response.context.get("confirm_form"):
            confirm(admin_client, "customer", response)
    assert list(Customer.objects.values_list("phone", flat=True)) in ([], ["6281222220001"])


def test_5_the_mobile_column_wins_over_a_landline_column(admin_client):
    preview_then_confirm(admin_client, "customer", "p.csv", csv_bytes(
        [["Nama", "Telp.", "HP"], ["Ani", "(0342) 801234", "0813-3333-0011"]]))
    assert list(Customer.objects.values_list("phone", flat=True)) == ["6281333330011"]


def test_6_a_totals_row_is_not_a_customer(admin_client):
    preview_then_confirm(admin_client, "customer", "p.csv", csv_bytes(
        [["No", "Nama", "No HP", "Belanja"], ["1", "Ani", "0813-8888-0006", "100000"],
         ["", "TOTAL", "", "100000"]]))
    assert list(Customer.objects.values_list("name", flat=True)) == ["Ani"]


def test_7_a_formula_without_a_stored_value_is_not_a_blank_number(admin_client):
    # openpyxl, as other programs, writes a formula without its result.
    response = upload(admin_client, "customer", "p.xlsx", xlsx_bytes(
        [["Nama", "No HP"], ["Ani", "0813-6666-0001"], ["Budi", '="0"&"81366660002"']]),
        skip_invalid=True)
    assert response.context.get("confirm_form") is None
    (message,) = response.context["form"].errors["import_file"]
    assert message.startswith('Sel B3 berisi rumus (="0"&"81366660002")'), message
    assert not Customer.objects.exists()


def test_8_the_data_sheet_is_read_not_the_sheet_last_looked_at(admin_client):
    def setup(book, sheet):
        rekap = book.create_sheet("Rekap")
        rekap.append(["Nama", "Total Belanja"])
        rekap.append(["Ani", 500000])
        book.active = 1
    preview_then_confirm(admin_client, "customer", "p.xlsx", xlsx_bytes(
        [["Nama", "No HP"], ["Ani", "0813-6666-0001"], ["Budi", "0813-6666-0002"]], setup))
    assert sorted(Customer.objects.values_list("phone", flat=True)) == [
        "6281366660001", "6281366660002"]


def test_9_an_unclosed_quote_is_refused_not_glued_into_one_name(admin_client):
    response = upload(admin_client, "customer", "p.csv",
                      b'Nama,No HP\n"Ani,0813-7777-0006\nBudi,0813-7777-0007\n')
    if response.context.get("confirm_form"):
        confirm(admin_client, "customer", response)
    assert not Customer.objects.filter(phone__isnull=True).exists()


@needs_libreoffice
def test_10_opportunity_xlsx_with_date_cells_reimports_as_no_change(admin_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    data = xlsx_bytes(opportunity_rows("Perkiraan Closing", [datetime.date(2026, 12, 31)]))
    preview_then_confirm(admin_client, "opportunity", "o.xlsx", data)
    exported = export(admin_client, "opportunity", "0")  # CSV export ...
    resaved = libreoffice_convert(exported, "csv", "xlsx")  # ... opened and saved as .xlsx
    response = upload(admin_client, "opportunity", "e.xlsx", resaved)
    assert dict(response.context["result"].totals)["update"] == 0


def test_11_export_csv_has_a_bom_so_excel_reads_names_as_utf8(admin_client, make_customer):
    make_customer(name="José", phone="0812-3456-7890")
    assert export(admin_client, "customer", "0").startswith(b"\xef\xbb\xbf")


def test_12_an_excel_ms_dos_csv_name_is_not_stored_with_control_characters(admin_client):
    preview_then_confirm(admin_client, "customer", "p.csv",
                         "Nama;No HP\r\nJosé Müller;0813-8888-0001\r\n".encode("cp850"))
    name = Customer.objects.get().name
    assert not any(0x80 <= ord(ch) <= 0x9f for ch in name), repr(name)


def test_13_a_date_number_cell_gets_an_indonesian_reason_quoting_it(admin_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    response = upload(admin_client, "opportunity", "o.xlsx", xlsx_bytes(
        opportunity_rows("Perkiraan Closing", [46387])), skip_invalid=True)
    reason = skip_reasons(response)[2]
    assert "Value could not be parsed" not in reason and "46387" in reason


def test_a_left_out_rows_reasons_name_their_columns(admin_client):
    response = upload(admin_client, "customer", "p.csv", csv_bytes(
        [["Nama", "No HP", "Email"], ["", "0813-1111-0001", "bukan-email"]]), skip_invalid=True)
    html = response.content.decode()
    assert ("Dilewati (Baris 2): Nama: Field ini tidak boleh kosong. "
            "Email: Masukkan alamat email yang valid.") in html


def ods_bytes():
    """What LibreOffice writes first in an .ods: its mimetype, stored."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.mark.parametrize("name, data, words", [
    ("p.ods", ods_bytes(), "LibreOffice atau OpenOffice (.ods)"),
    ("p.xls", b"<html><body><table><tr><td>Nama</td></tr></table></body></html>",
     "halaman web atau XML"),
    ("p.xls", b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:'
              b'spreadsheet"></Workbook>', "halaman web atau XML"),
])
def test_a_spreadsheet_of_a_kind_we_do_not_read_says_how_to_save_it(admin_client, name, data,
                                                                     words):
    response = upload(admin_client, "customer", name, data)
    (message,) = response.context["form"].errors["import_file"]
    assert words in message and "(.xlsx)" in message


def test_a_number_repeated_in_the_file_is_said_on_its_row(admin_client):
    response = upload(admin_client, "customer", "p.csv", csv_bytes(
        [["Nama", "No HP"], ["Ani", "0813-1111-0001"], ["Budi", "0813-1111-0002"],
         ["Ani Lestari", "0813 1111 0001"]]))
    html = response.content.decode()
    assert "1 baris memakai nomor baris di atasnya" in html
    assert "Diubah: Nomor sama dengan baris 2: baris ini mengubah pelanggan itu." in html
    assert totals(response) == {"new": 2, "update": 1, "delete": 0, "skip": 0, "error": 0,
                                "invalid": 0}
