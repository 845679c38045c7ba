"""Opportunity spreadsheet import and export through the admin."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Customer, ImportRecord, Opportunity, Stage, rollups
from tests.test_customer_import import (
    CSV_FORMAT,
    XLS_FORMAT,
    XLSX_FORMAT,
    csv_file,
    xls_file,
    xlsx_file,
)

IMPORT_URL = reverse("admin:crm_opportunity_import")
CONFIRM_URL = reverse("admin:crm_opportunity_process_import")
EXPORT_URL = reverse("admin:crm_opportunity_export")
RECORDS_URL = reverse("admin:crm_importrecord_changelist")


def preview(client, upload, file_format=CSV_FORMAT):
    response = client.post(
        IMPORT_URL, {"import_file": upload, "format": file_format, "resource": "0"}
    )
    assert response.status_code == 200
    return response


def confirm(client, response):
    form = response.context.get("confirm_form")
    assert form is not None, response.context["result"].invalid_rows
    return client.post(CONFIRM_URL, {**form.initial, "confirm": "1"})


FILE = (
    "Judul;Pelanggan;No HP;Nilai;Tahap;Alasan Batal;Perkiraan Closing\n"
    "Kripik tempe 100 bungkus;;+62 812 3456 7890;Rp 1.500.000;Penawaran;;20/12/2026\n"
    "Batik tulis;Bu Sum;0857-1111-2222;1500000;won;;\n"
    "Seragam batik;Bu Sum;62857 1111 2222;1.500.000,00;Batal;Harga terlalu mahal;2026-12-31\n"
)


def test_opportunities_are_imported_with_their_customers(admin_client, admin_user,
                                                         make_customer):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890")
    response = preview(admin_client, csv_file(FILE))
    assert dict(response.context["result"].totals)["new"] == 3
    assert not Opportunity.objects.exists() and Customer.objects.count() == 1

    confirm(admin_client, response)
    kripik, batik, seragam = Opportunity.objects.order_by("pk")
    assert (kripik.customer, kripik.amount, kripik.stage) == (dewi, 1_500_000, Stage.PROPOSAL)
    assert kripik.expected_close_date == datetime.date(2026, 12, 20)
    sum_ = Customer.objects.get(name="Bu Sum")
    assert batik.customer == seragam.customer == sum_  # created once, found again
    assert (batik.stage, batik.amount, batik.closed_at is not None) == ("won", 1_500_000, True)
    assert (seragam.stage, seragam.lost_reason) == ("lost", "Harga terlalu mahal")
    assert kripik.owner == admin_user
    assert kripik.stage_changes.get().changed_by == admin_user


ERRORS = (
    "Judul,Pelanggan,No HP,Nilai,Tahap,Alasan Batal\n"
    "Kue,,0813-9999-8888,100000,Prospek,\n"  # row 2: unknown number, no name
    "Kue,Rina,0813-9999-7777,100000,Batal,\n"  # row 3: lost without a reason
    "Kue,Rina,0813-9999-7777,seratus ribu,Prospek,\n"  # row 4: not an amount
    "Kue,Rina,0813-9999-7777,100000,Lunas,\n"  # row 5: no such stage
)


def test_bad_rows_are_reported_with_their_row_number_and_nothing_is_written(admin_client):
    response = preview(admin_client, csv_file(ERRORS))
    errors = {
        row.number + 1: " ".join(m for ms in row.error_dict.values() for m in ms)
        for row in response.context["result"].invalid_rows
    }
    assert "Pelanggan" in errors[2] and "0813-9999-8888" in errors[2]
    assert "Tuliskan alasan peluang ini batal." in errors[3]
    assert "seratus ribu" in errors[4]
    assert "Lunas" in errors[5]
    assert response.context.get("confirm_form") is None
    assert not Opportunity.objects.exists() and not Customer.objects.exists()


def test_an_export_imports_back_as_updates(admin_client, make_opportunity):
    make_opportunity(title="Kripik", amount=750_000, stage=Stage.NEGOTIATION,
                     expected_close_date=datetime.date(2026, 12, 1))
    make_opportunity(title="Batik", stage=Stage.LOST, lost_reason="Mahal")
    fields = ["id", "title", "customer_name", "customer", "amount", "stage", "lost_reason",
              "expected_close_date"]
    exported = admin_client.post(EXPORT_URL, {
        "format": XLSX_FORMAT, "resource": "0",
        **{f"opportunityresource_{name}": "on" for name in fields},
    })
    before = list(Opportunity.objects.order_by("pk").values(
        "id", "title", "customer_id", "amount", "stage", "lost_reason", "expected_close_date"))
    response = preview(admin_client, SimpleUploadedFile("e.xlsx", exported.content), XLSX_FORMAT)
    assert dict(response.context["result"].totals)["skip"] == 2  # nothing changed
    confirm(admin_client, response)
    after = list(Opportunity.objects.order_by("pk").values(
        "id", "title", "customer_id", "amount", "stage", "lost_reason", "expected_close_date"))
    assert after == before


def test_undoing_an_opportunity_import_removes_the_customers_it_created(
    admin_client, make_customer
):
    dewi = make_customer(name="Dewi", phone="0812-3456-7890")
    confirm(admin_client, preview(admin_client, csv_file(FILE)))
    assert Customer.objects.count() == 2
    admin_client.post(RECORDS_URL, {
        "action": "undo_imports", "_selected_action": [ImportRecord.objects.get().pk],
    })
    assert not Opportunity.objects.exists()
    assert list(Customer.objects.all()) == [dewi]  # only the one created by the import goes
    assert rollups.differences() == []  # the dashboard followed the import and its undo


def test_an_xlsx_with_real_dates_and_numbers(admin_client, make_customer):
    make_customer(phone="0812-3456-7890")
    upload = xlsx_file([
        ["Title", "Phone", "Amount", "Stage", "Close Date"],
        ["Madu 10 botol", 81234567890, 900000, "Negotiation", datetime.datetime(2026, 12, 5)],
    ])
    confirm(admin_client, preview(admin_client, upload, XLSX_FORMAT))
    madu = Opportunity.objects.get()
    assert (madu.amount, madu.stage, madu.expected_close_date) == (
        900_000, "negotiation", datetime.date(2026, 12, 5)
    )


def test_an_old_excel_xls_with_dates_and_numbers(admin_client, make_customer):
    make_customer(phone="0812-3456-7890")
    upload = xls_file([
        ["Judul", "No HP", "Nilai", "Tahap", "Perkiraan Closing"],
        ["Madu 10 botol", 81234567890, 900000, "Negosiasi", datetime.date(2026, 12, 5)],
    ])
    confirm(admin_client, preview(admin_client, upload, XLS_FORMAT))
    madu = Opportunity.objects.get()
    assert (madu.amount, madu.stage, madu.expected_close_date) == (
        900_000, "negotiation", datetime.date(2026, 12, 5)
    )


def test_undoing_an_import_that_updated_opportunities_restores_them(
    admin_client, make_opportunity
):
    kripik = make_opportunity(title="Kripik", amount=750_000, stage=Stage.NEGOTIATION,
                              expected_close_date=datetime.date(2026, 12, 1))
    before = Opportunity.objects.values(
        "title", "amount", "stage", "expected_close_date", "customer_id").get()
    upload = csv_file(
        "ID,Judul,Nilai,Tahap,Perkiraan Closing\n"
        f"{kripik.pk},Kripik pedas,900000,Menang,2026-12-24\n"
    )
    confirm(admin_client, preview(admin_client, upload))
    assert Opportunity.objects.get().stage == Stage.WON
    assert rollups.differences() == []
    admin_client.post(RECORDS_URL, {
        "action": "undo_imports", "_selected_action": [ImportRecord.objects.get().pk],
    })
    assert Opportunity.objects.values(
        "title", "amount", "stage", "expected_close_date", "customer_id").get() == before
    assert rollups.differences() == []
