"""Customer spreadsheet import and export through the admin, with real files."""

import datetime
import io

import openpyxl
import pytest
import xlwt
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import QuerySet
from django.urls import reverse

from crm.models import Customer, ImportRecord, Opportunity
from crm.spreadsheets import SharedUploadStorage
from tests.spreadsheet_files import xlsx_bytes

IMPORT_URL = reverse("admin:crm_customer_import")
CONFIRM_URL = reverse("admin:crm_customer_process_import")
EXPORT_URL = reverse("admin:crm_customer_export")
CSV_FORMAT, XLSX_FORMAT, XLS_FORMAT = "0", "1", "2"


def csv_file(text, encoding="utf-8", name="pelanggan.csv"):
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def xls_file(rows, name="pelanggan.xls"):
    """A real old-Excel (.xls) workbook; datetime.date cells are stored as Excel dates."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def xlsx_file(rows, name="pelanggan.xlsx"):
    return SimpleUploadedFile(name, xlsx_bytes(rows))


def preview(client, upload, file_format=CSV_FORMAT, **extra):
    """Upload a file: the dry run's page, with nothing written yet."""
    response = client.post(
        IMPORT_URL, {"import_file": upload, "format": file_format, "resource": "0", **extra}
    )
    assert response.status_code == 200
    return response


def confirm(client, response):
    form = response.context["confirm_form"]
    assert form is not None, "the preview offers no confirmation"
    return client.post(CONFIRM_URL, {**form.initial, "confirm": "1"})


def totals(response):
    return dict(response.context["result"].totals)


def test_a_csv_with_indonesian_headers_is_previewed_then_imported(admin_client):
    upload = csv_file(
        "Nama,No HP,Email,Nama Usaha,Alamat,Kota,Sumber,Catatan\n"
        "Bu Sum,0812-3456-7890,SUM@Contoh.ID ,Kripik Bu Sum,Jl. Merdeka 1,Blitar,"
        "Instagram,Pesan tiap bulan\n"
        "  Pak Darto  ,+62 813 1111 2222,,,,Wlingi,Rekomendasi,\n"
    )
    response = preview(admin_client, upload)
    assert totals(response)["new"] == 2
    assert not Customer.objects.exists()  # the preview writes nothing

    assert confirm(admin_client, response).status_code == 302
    sum_, darto = Customer.objects.order_by("name")
    assert (sum_.name, sum_.phone, sum_.email, sum_.source) == (
        "Bu Sum", "6281234567890", "sum@contoh.id", "instagram"
    )
    assert (darto.name, darto.phone, darto.city, darto.source) == (
        "Pak Darto", "6281311112222", "Wlingi", "referral"
    )


def test_semicolons_a_bom_and_english_headers_in_any_case(admin_client):
    upload = csv_file(
        "\ufeff NAME ;  phone number ;CITY;Company\nDewi;0857 1234 5678;Kediri;Batik Dewi\n"
    )
    response = preview(admin_client, upload)
    confirm(admin_client, response)
    dewi = Customer.objects.get()
    assert (dewi.name, dewi.phone, dewi.city, dewi.business_name) == (
        "Dewi", "6285712345678", "Kediri", "Batik Dewi"
    )


def test_a_windows_1252_file_from_old_excel(admin_client):
    upload = csv_file("Nama;No. HP / WA\nJosé Gonçalves;0812-3456-7890\n", encoding="cp1252")
    confirm(admin_client, preview(admin_client, upload))
    assert Customer.objects.get().name == "José Gonçalves"


def test_unknown_columns_are_ignored_and_listed(admin_client):
    upload = csv_file("Nama,No HP,Tanggal Lahir,Hobi\nDewi,0812-3456-7890,1990-01-01,Menari\n")
    response = preview(admin_client, upload)
    assert "Tanggal Lahir, Hobi" in response.content.decode()
    confirm(admin_client, response)
    assert Customer.objects.get().name == "Dewi"


def test_the_phone_is_the_identity_in_the_database_and_in_the_file(
    admin_client, make_customer
):
    make_customer(name="Dewi lama", phone="0812-3456-7890", city="Blitar", email="d@contoh.id")
    upload = csv_file(
        "Nama,No HP,Kota,Email\n"
        "Dewi Lestari,+62 812 3456 7890,,\n"  # the existing customer, another format
        "Rina,0857-1111-2222,Kediri,\n"
        "Rina Wati,62857 1111 2222,,rina@contoh.id\n"  # the row above, again
    )
    response = preview(admin_client, upload)
    assert (totals(response)["new"], totals(response)["update"]) == (1, 2)
    confirm(admin_client, response)
    assert Customer.objects.count() == 2
    dewi = Customer.objects.get(phone="6281234567890")
    # Updated where the file says something; an empty cell erases nothing.
    assert (dewi.name, dewi.city, dewi.email) == ("Dewi Lestari", "Blitar", "d@contoh.id")
    rina = Customer.objects.get(phone="6285711112222")
    assert (rina.name, rina.city, rina.email) == ("Rina Wati", "Kediri", "rina@contoh.id")


def test_blank_rows_are_skipped(admin_client):
    upload = csv_file("Nama,No HP\nDewi,0812-3456-7890\n,\n  ,  \nRina,0857-1111-2222\n")
    response = preview(admin_client, upload)
    assert totals(response)["new"] == 2
    assert not response.context["result"].has_validation_errors()
    confirm(admin_client, response)
    assert Customer.objects.count() == 2


BAD_FILE = (
    "Nama,No HP\n"
    "Dewi,0812-3456-7890\n"
    "Rina,081-234\n"  # row 3: invalid number
    ",0857-1111-2222\n"  # row 4: no name
    f"{'x' * 201},0857-2222-3333\n"  # row 5: name too long
)


def test_a_file_with_errors_reports_each_row_and_imports_nothing(admin_client):
    response = preview(admin_client, csv_file(BAD_FILE))
    result = response.context["result"]
    errors = {row.number + 1: row.error_dict for row in result.invalid_rows}
    assert set(errors) == {3, 4, 5}
    assert errors[3]["phone"] == ["Nomor HP tidak valid: 081-234"]
    assert "name" in errors[4] and "name" in errors[5]
    html = response.content.decode()
    assert "<td>3</td>" in html and "Nomor HP tidak valid: 081-234" in html
    # Each error names the column as the file does, not the field inside.
    assert 'validation-error-field-label">No HP</span>' in html
    assert response.context.get("confirm_form") is None
    assert not Customer.objects.exists()


def test_the_user_may_choose_to_import_only_the_valid_rows(admin_client):
    response = preview(admin_client, csv_file(BAD_FILE), skip_invalid_rows="on")
    html = response.content.decode()
    assert "Dilewati (Baris 3): No HP: Nomor HP tidak valid: 081-234" in html
    confirm(admin_client, response)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Dewi"]


def test_an_xlsx_file_with_numbers_typed_as_numbers(admin_client):
    upload = xlsx_file([
        ["Nama", "No HP", "Kota"],
        ["Dewi", 81234567890, "Blitar"],  # Excel dropped the leading 0
        ["Rina", "0857-1111-2222", "Kediri"],
        [None, None, None],
    ])
    confirm(admin_client, preview(admin_client, upload, XLSX_FORMAT))
    assert sorted(Customer.objects.values_list("phone", flat=True)) == [
        "6281234567890", "6285711112222"
    ]


def test_a_formula_looking_cell_is_stored_as_text_and_exported_escaped(admin_client):
    upload = csv_file('Nama,No HP,Catatan\n"=HYPERLINK(""http://x"")",0812-3456-7890,@SUM(A1)\n')
    confirm(admin_client, preview(admin_client, upload))
    customer = Customer.objects.get()
    assert customer.name == '=HYPERLINK("http://x")'
    exported = admin_client.post(EXPORT_URL, {"format": CSV_FORMAT, "resource": "0",
                                              **export_all_fields()}).content.decode()
    assert "'=HYPERLINK" in exported and "'@SUM(A1)" in exported


def export_all_fields():
    fields = ["name", "phone", "email", "business_name", "address", "city", "source", "notes"]
    return {f"customerresource_{name}": "on" for name in fields}


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_an_export_imports_back_to_the_same_customers(admin_client, make_customer, file_format):
    make_customer(name="Bu Sum", phone="0812-3456-7890", email="sum@contoh.id",
                  business_name="Kripik Bu Sum", address="Jl. Merdeka 1", city="Blitar",
                  source="instagram", notes="Pelanggan lama")
    make_customer(name="Pak Li", phone="+60 12-345 6789", source="walk_in")
    make_customer(name="Tanpa HP", phone="", source="other")
    before = list(Customer.objects.order_by("name").values(
        "name", "phone", "email", "business_name", "address", "city", "source", "notes"))
    exported = admin_client.post(
        EXPORT_URL, {"format": file_format, "resource": "0", **export_all_fields()}
    )
    assert exported.status_code == 200
    Customer.objects.all().delete()
    extension = "csv" if file_format == CSV_FORMAT else "xlsx"
    upload = SimpleUploadedFile(f"ekspor.{extension}", exported.content)
    confirm(admin_client, preview(admin_client, upload, file_format))
    after = list(Customer.objects.order_by("name").values(
        "name", "phone", "email", "business_name", "address", "city", "source", "notes"))
    assert after == before


def test_the_export_has_indonesian_headers_and_local_numbers(admin_client, make_customer):
    make_customer(name="Dewi", phone="+62 812 3456 7890", source="referral")
    exported = admin_client.post(
        EXPORT_URL, {"format": CSV_FORMAT, "resource": "0", **export_all_fields()}
    ).content.decode("utf-8-sig")
    header, row = exported.splitlines()[:2]
    assert header == "Nama,No HP,Email,Nama Usaha,Alamat,Kota,Sumber,Catatan"
    assert row.startswith("Dewi,0812-3456-7890,") and "Rekomendasi" in row


def test_a_file_over_the_size_limit_is_refused(admin_client, settings):
    settings.IMPORT_MAX_UPLOAD_MB = 0
    response = preview(admin_client, csv_file("Nama,No HP\nDewi,0812-3456-7890\n"))
    assert "Berkas lebih besar dari 0 MB." in response.content.decode()
    assert not Customer.objects.exists()


def test_a_file_over_the_row_limit_is_refused(admin_client, settings):
    settings.IMPORT_MAX_ROWS = 2
    rows = "".join(f"Orang {i},0812-3456-78{i:02d}\n" for i in range(3))
    response = preview(admin_client, csv_file("Nama,No HP\n" + rows))
    assert response.context["form"].errors
    assert "paling banyak 2" in response.content.decode()
    assert response.context.get("confirm_form") is None


def test_a_confirmed_import_happens_completely_or_not_at_all(admin_client, monkeypatch):
    # 1,500 rows: the first 1,000 are written as one batch, then the rest fails.
    rows = "".join(f"Orang {i},0812-{i:04d}-0000\n" for i in range(1, 1501))
    response = preview(admin_client, csv_file("Nama,No HP\n" + rows))
    original_bulk_create = QuerySet.bulk_create

    def fail_second_batch(queryset, objs, *args, **kwargs):
        if any(obj.name == "Orang 1500" for obj in objs):
            raise RuntimeError("disk full")
        return original_bulk_create(queryset, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", fail_second_batch)
    response = confirm(admin_client, response)
    assert response["Location"] == IMPORT_URL
    assert not Customer.objects.exists()
    assert not ImportRecord.objects.exists()
    message = [str(m) for m in admin_client.get(IMPORT_URL).context["messages"]]
    assert message == [
        "Tidak ada yang diimpor: berkas tidak bisa diimpor seluruhnya. "
        "Unggah lagi untuk melihat masalahnya."
    ]


def test_import_and_export_need_their_own_permissions(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_customer", "add_customer", "change_customer"]))
    client.force_login(clerk)
    html = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert IMPORT_URL not in html and EXPORT_URL not in html
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(EXPORT_URL, {"format": CSV_FORMAT}).status_code == 403

    clerk.user_permissions.add(*Permission.objects.filter(
        codename__in=["import_customer", "export_customer"]))
    clerk = django_user_model.objects.get(pk=clerk.pk)
    client.force_login(clerk)
    html = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert IMPORT_URL in html and EXPORT_URL in html
    assert client.get(IMPORT_URL).status_code == 200


# Undoing an import

RECORDS_URL = reverse("admin:crm_importrecord_changelist")


def undo(client, *records):
    return client.post(RECORDS_URL, {
        "action": "undo_imports", "_selected_action": [r.pk for r in records],
    }, follow=True)


def test_an_import_is_recorded_and_can_be_undone_exactly(admin_client, admin_user, make_customer):
    dewi = make_customer(name="Dewi lama", phone="0812-3456-7890", city="Blitar",
                         email="dewi@contoh.id", notes="Pelanggan setia")
    before = Customer.objects.values().get(pk=dewi.pk)
    upload = csv_file("Nama,No HP,Kota,Catatan\n"
                      "Dewi Lestari,0812-3456-7890,Kediri,Ganti alamat\n"
                      "Rina,0857-1111-2222,Wlingi,\n")
    confirm(admin_client, preview(admin_client, upload))
    record = ImportRecord.objects.get()
    assert (record.file_name, record.imported_by, record.created_count, record.updated_count) == (
        "pelanggan.csv", admin_user, 1, 1
    )
    assert Customer.objects.count() == 2

    response = undo(admin_client, record)
    assert "1 impor dibatalkan." in response.content.decode()
    after = Customer.objects.values().get(pk=dewi.pk)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert Customer.objects.count() == 1
    record.refresh_from_db()
    assert record.reverted_by == admin_user

    # Twice is refused.
    response = undo(admin_client, record)
    assert "Impor ini sudah dibatalkan." in response.content.decode()


def test_the_preview_records_nothing(admin_client):
    preview(admin_client, csv_file("Nama,No HP\nDewi,0812-3456-7890\n"))
    assert not ImportRecord.objects.exists()


def test_an_import_whose_customers_are_in_use_is_not_undone(admin_client, make_opportunity):
    confirm(admin_client, preview(admin_client, csv_file("Nama,No HP\nDewi,0812-3456-7890\n")))
    dewi = Customer.objects.get()
    make_opportunity(customer=dewi)
    response = undo(admin_client, ImportRecord.objects.get())
    assert "Tidak bisa dibatalkan" in response.content.decode()
    assert Customer.objects.filter(pk=dewi.pk).exists()
    assert ImportRecord.objects.get().reverted_at is None


def test_only_users_who_may_import_see_and_undo_imports(client, admin_client, django_user_model):
    confirm(admin_client, preview(admin_client, csv_file("Nama,No HP\nDewi,0812-3456-7890\n")))
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(clerk)
    assert client.get(RECORDS_URL).status_code == 403
    undo(client, ImportRecord.objects.get())
    assert Customer.objects.count() == 1


# Safety and help


def test_the_downloadable_template_has_the_headers_and_imports_cleanly(admin_client):
    response = admin_client.get(reverse("admin:crm_customer_import_template"))
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0] == ("Nama", "No HP", "Email", "Nama Usaha", "Alamat", "Kota", "Sumber",
                       "Catatan")
    assert len(rows) == 3
    assert reverse("admin:crm_customer_import_template") in admin_client.get(
        IMPORT_URL).content.decode()
    confirm(admin_client, preview(admin_client, SimpleUploadedFile("t.xlsx", response.content),
                                  XLSX_FORMAT))
    assert Customer.objects.count() == 2


def test_the_template_needs_the_import_permission(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:crm_customer_import_template")).status_code == 403


def test_an_old_excel_xls_file_is_imported_like_the_others(admin_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    upload = xls_file([
        ["Nama", "No HP", "Kota"],
        ["Dewi Lestari", 81234567890, "Blitar"],  # a number cell, its 0 dropped by Excel
        ["Pak Darto", "0857-1111-2222", "Wlingi"],
        ["Budi", "081-234", "Kediri"],
    ])
    result = preview(admin_client, upload, XLS_FORMAT).context["result"]
    errors = {row.number + 1: row.error_dict for row in result.invalid_rows}
    assert errors == {4: {"phone": ["Nomor HP tidak valid: 081-234"]}}
    response = preview(admin_client, xls_file([
        ["Nama", "No HP", "Kota"],
        ["Dewi Lestari", 81234567890, "Blitar"],
        ["Pak Darto", "0857-1111-2222", "Wlingi"],
    ]), XLS_FORMAT)
    assert totals(response)["new"] == 1 and totals(response)["update"] == 1
    confirm(admin_client, response)
    assert sorted(Customer.objects.values_list("name", "phone", "city")) == [
        ("Dewi Lestari", "6281234567890", "Blitar"),
        ("Pak Darto", "6285711112222", "Wlingi"),
    ]


def test_a_file_that_is_not_really_xls_gets_a_clear_error(admin_client):
    response = preview(admin_client, csv_file("Nama,No HP\nDewi,0812\n", name="x.xls"),
                       XLS_FORMAT)
    assert Customer.objects.count() == 0
    assert response.context["form"].errors


def stored_upload(name):
    return caches["import_uploads"].get(SharedUploadStorage.CACHE_PREFIX + name)


def test_an_upload_that_will_not_be_confirmed_is_not_kept(admin_client):
    response = preview(admin_client, csv_file(BAD_FILE))
    name = response.context["form"].cleaned_data["import_file"].tmp_storage_name
    assert name and stored_upload(name) is None


def test_the_upload_waits_in_the_database_for_any_web_process_to_confirm(admin_client):
    """Between preview and confirmation the file is in the shared database,
    not on one machine's disk, and it is gone once imported."""
    response = preview(admin_client, csv_file("Nama,No HP\nDewi,0812-3456-7890\n"))
    name = response.context["confirm_form"].initial["import_file_name"]
    assert stored_upload(name).startswith(b"Nama,No HP")
    confirm(admin_client, response)
    assert Customer.objects.count() == 1
    assert stored_upload(name) is None


def test_confirming_twice_imports_once_and_says_why(admin_client):
    response = preview(admin_client, csv_file("Nama,No HP\nDewi,0812-3456-7890\n"))
    confirm(admin_client, response)
    again = confirm(admin_client, response)
    assert again.status_code == 302 and again.url == reverse("admin:crm_customer_import")
    assert Customer.objects.count() == 1
    page = admin_client.get(again.url).content.decode()
    assert "sudah diimpor" in page


def test_an_xlsx_with_an_xml_bomb_is_refused(admin_client):
    import zipfile

    good = xlsx_file([["Nama", "No HP"], ["Dewi", "0812-3456-7890"]]).read()
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(bomb, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"<worksheet", b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><worksheet', 1)
            target.writestr(item, data)
    response = preview(admin_client, SimpleUploadedFile("bom.xlsx", bomb.getvalue()),
                       XLSX_FORMAT)
    assert response.context["form"].errors
    assert not Customer.objects.exists()


def test_the_preview_counts_each_kind_of_row(admin_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    response = preview(admin_client, csv_file(
        "Nama,No HP\nDewi,0812-3456-7890\nRina,0857-1111-2222\n,\nX,081-234\n"
    ), skip_invalid_rows="on")
    html = response.content.decode()
    for kind, count in [("new", 1), ("update", 0), ("skip", 3), ("invalid", 0)]:
        assert f'data-total="{kind}">{count}</strong>' in html


def test_a_big_file_previews_only_its_first_rows(admin_client):
    rows = "".join(f"Orang {i},0812-{i:04d}-0000\n" for i in range(1, 131))
    html = preview(admin_client, csv_file("Nama,No HP\n" + rows)).content.decode()
    assert html.count('<tr class="new">') == 100
    assert "30 baris lainnya" in html


def test_a_customer_renamed_by_an_import_is_found_by_the_new_name(
    admin_client, make_customer, make_opportunity
):
    dewi = make_customer(name="Dewi Lestari", phone="0812-3456-7890")
    make_opportunity(customer=dewi, title="Kue 10 toples")
    upload = csv_file("Nama,No HP\nDewi Anggraini,0812-3456-7890\n")
    confirm(admin_client, preview(admin_client, upload))
    assert "Dewi Anggraini" in Opportunity.objects.get().search_text


def test_unchanged_rows_past_the_previewed_ones_are_still_skipped(admin_client):
    rows = "".join(f"Orang {i},0812-{i:04d}-0000\n" for i in range(1, 131))
    confirm(admin_client, preview(admin_client, csv_file("Nama,No HP\n" + rows)))
    again = preview(admin_client, csv_file("Nama,No HP\n" + rows))
    assert dict(again.context["result"].totals)["skip"] == 130
    changed = rows.replace("Orang 120,", "Orang Baru,")
    once_more = preview(admin_client, csv_file("Nama,No HP\n" + changed))
    assert dict(once_more.context["result"].totals)["update"] == 1
