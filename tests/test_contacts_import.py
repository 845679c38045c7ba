"""Contacts from phones (vCard), Google Contacts and Outlook, imported as customers
through the admin, with the file's format found from its content."""

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Customer

IMPORT_URL = reverse("admin:crm_customer_import")
CONFIRM_URL = reverse("admin:crm_customer_process_import")
OPPORTUNITY_IMPORT_URL = reverse("admin:crm_opportunity_import")
AUTOMATIC, CSV_FORMAT, XLSX_FORMAT, VCF_FORMAT = "", "0", "1", "3"


def quoted_printable(text):
    """``text`` as Android writes a non-ASCII vCard 2.1 value: every byte as
    =XX, lines continued by a trailing '='."""
    codes = [f"={byte:02X}" for byte in text.encode("utf-8")]
    return "=\r\n".join("".join(codes[i:i + 24]) for i in range(0, len(codes), 24))


ANDROID_VCARD_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{quoted_printable('Sümarni')};"
    f"{quoted_printable('Bu')};;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:"
    f"{quoted_printable('Bu Sümarni Kripik Tempe Sanankulon Blitar')}\r\n"
    "TEL;HOME:0342-801234\r\n"
    "TEL;CELL;PREF:0812-3456-7890\r\n"
    "TEL;CELL:0813-2222-3333\r\n"
    "EMAIL;HOME:sumarni@contoh.id\r\n"
    "END:VCARD\r\n"
)

VCARD_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Darto;Pak;;;\r\n"
    "FN:Pak Darto\r\n"
    "ORG:Batik Darto;\r\n"
    "NOTE:Pesan seragam batik kantor tiap tahun\\, minta dikirim ke toko hari Sab\r\n"
    " tu pagi sebelum jam sepuluh\r\n"
    "TEL;TYPE=WORK,VOICE:(0342) 555-123\r\n"
    "TEL;TYPE=CELL:+62 857-1111-2222\r\n"
    "END:VCARD\r\n"
)

VCARD_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "FN:Rina Wati\r\n"
    'TEL;VALUE=uri;TYPE="cell,voice":tel:+62-813-4444-5555\r\n'
    "EMAIL:rina@contoh.id\r\n"
    "END:VCARD\r\n"
)

IPHONE_VCARDS = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//iPhone OS 17.5//EN\r\n"
    "N:Lestari;Dewi;;;\r\n"
    "FN:Dewi Lestari\r\n"
    "ORG:Warung Dewi;\r\n"
    "TEL;type=HOME;type=VOICE;type=pref:0342 812345\r\n"
    "item1.TEL:0821 6666 7777\r\n"
    "item1.X-ABLabel:HP\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:;Yanto;;;\r\n"
    "FN:Yanto\r\n"
    "item1.TEL:0342 899111\r\n"
    "item1.X-ABLabel:_$!<Work>!$_\r\n"
    "item2.TEL:0856 7777 8888\r\n"
    "item2.X-ABLabel:_$!<Mobile>!$_\r\n"
    "END:VCARD\r\n"
)

WITHOUT_MOBILE = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Toko Bangunan Jaya\r\n"
    "TEL;TYPE=WORK:0342 801999\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Pak RT\r\n"
    "END:VCARD\r\n"
)


def vcf(text, name="contacts.vcf"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/vcard")


def preview(client, upload, file_format=AUTOMATIC, url=IMPORT_URL):
    response = client.post(url, {"import_file": upload, "format": file_format, "resource": "0"})
    assert response.status_code == 200
    return response


def confirm(client, response):
    form = response.context["confirm_form"]
    assert form is not None, "the preview offers no confirmation"
    assert client.post(CONFIRM_URL, {**form.initial, "confirm": "1"}).status_code == 302


def customers():
    return {c.phone: c for c in Customer.objects.all()}


def test_it_imports_an_android_vcard_21_with_a_quoted_printable_utf8_name(owner_client):
    confirm(owner_client, preview(owner_client, vcf(ANDROID_VCARD_21)))
    sumarni = Customer.objects.get()
    assert sumarni.name == "Bu Sümarni Kripik Tempe Sanankulon Blitar"
    # The first mobile number, not the landline listed before it.
    assert sumarni.phone == "6281234567890"
    assert sumarni.email == "sumarni@contoh.id"
    # The other numbers are kept in the notes, mobile ones first.
    assert sumarni.notes == "Nomor lain: 0813-2222-3333, 0342-801234"


def test_it_imports_vcards_30_and_40_and_an_iphone_export_in_one_file(owner_client):
    upload = vcf(VCARD_30 + VCARD_40 + IPHONE_VCARDS)
    response = preview(owner_client, upload)
    assert response.context["result"].totals["new"] == 4
    confirm(owner_client, response)
    stored = customers()
    assert set(stored) == {"6285711112222", "6281344445555", "6282166667777", "6285677778888"}
    darto = stored["6285711112222"]
    assert (darto.name, darto.business_name) == ("Pak Darto", "Batik Darto")
    # A folded line is one value.
    assert darto.notes == (
        "Pesan seragam batik kantor tiap tahun, minta dikirim ke toko hari Sabtu pagi "
        "sebelum jam sepuluh\nNomor lain: (0342) 555-123"
    )
    assert stored["6281344445555"].email == "rina@contoh.id"
    # iPhone: a number labelled "HP" or Mobile, not the home or work landline.
    assert stored["6282166667777"].business_name == "Warung Dewi"
    assert stored["6285677778888"].name == "Yanto"


def test_it_skips_a_contact_without_a_mobile_number_and_says_why(owner_client):
    response = preview(owner_client, vcf(VCARD_30 + WITHOUT_MOBILE))
    assert dict(response.context["result"].totals)["new"] == 1
    assert dict(response.context["result"].totals)["skip"] == 2
    html = response.content.decode()
    assert "Toko Bangunan Jaya: tidak ada nomor HP (hanya 0342 801999)." in html
    assert "Pak RT: tidak ada nomor telepon." in html
    confirm(owner_client, response)
    assert list(Customer.objects.values_list("name", flat=True)) == ["Pak Darto"]


def test_a_mobile_number_under_another_label_is_taken(owner_client):
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bu Ning\r\nTEL;TYPE=HOME:0878 1234 5678\r\n"
        "END:VCARD\r\n"
    )
    confirm(owner_client, preview(owner_client, vcf(card)))
    assert Customer.objects.get().phone == "6287812345678"


def test_a_known_number_in_a_vcard_updates_that_customer(owner_client, make_customer):
    make_customer(name="Darto", phone="0857-1111-2222", city="Wlingi")
    response = preview(owner_client, vcf(VCARD_30))
    assert dict(response.context["result"].totals)["update"] == 1
    confirm(owner_client, response)
    darto = Customer.objects.get()
    assert (darto.name, darto.city) == ("Pak Darto", "Wlingi")


def test_a_broken_vcard_gets_a_sentence(owner_client):
    response = preview(owner_client, vcf("BEGIN:VCARD\r\nVERSION:3.0\r\nFN Pak\r\nEND:VCARD\r\n"))
    html = response.content.decode()
    assert "File kontak (vCard) tidak dapat dibaca" in html
    assert "Traceback" not in html and "ParseError" not in html
    assert response.context.get("confirm_form") is None


GOOGLE_CURRENT = (
    "First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,"
    "Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,"
    "Organization Title,Organization Department,Birthday,Notes,Photo,Labels,"
    "E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,"
    "Phone 2 - Label,Phone 2 - Value\n"
    "Sumarni,,Wati,,,,Bu,,,,Kripik Sumarni,,,,Pesan tiap bulan,,* myContacts,"
    "* Home,sum@contoh.id,Home,0342 801234,Mobile,0812-3456-7890 ::: 0813-2222-3333\n"
    "Agus,,,,,,,,,,,,,,,,* myContacts,,,Seluler,0857 3333 4444,,\n"
    "Kantor,,Kelurahan,,,,,,,,,,,,,,* myContacts,,,Work,0342 801999,,\n"
)

GOOGLE_OLDER = (
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,"
    "Additional Name Yomi,Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,"
    "Short Name,Maiden Name,Birthday,Gender,Location,Billing Information,"
    "Directory Server,Mileage,Occupation,Hobby,Sensitivity,Priority,Subject,Notes,"
    "Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,"
    "Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Organization 1 - Type,"
    "Organization 1 - Name,Organization 1 - Title\n"
    "Pak Darto,Darto,,,,,,,Pak,,,,,,,,,,,,,,,,,,,,* My Contacts,* Work,"
    "darto@contoh.id ::: darto@batik.id,Work,(0342) 555-123,Mobile,+62 857-1111-2222,,"
    "Batik Darto,\n"
)


def csv_upload(text, name="contacts.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_it_imports_a_google_contacts_csv(owner_client):
    response = preview(owner_client, csv_upload(GOOGLE_CURRENT))
    html = response.content.decode()
    assert "Kantor Kelurahan: tidak ada nomor HP (hanya 0342 801999)." in html
    # Google's own columns are read, not listed as ignored.
    assert "Kolom tidak dikenal" not in html
    confirm(owner_client, response)
    stored = customers()
    assert set(stored) == {"6281234567890", "6285733334444"}
    sumarni = stored["6281234567890"]
    assert (sumarni.name, sumarni.email, sumarni.business_name) == (
        "Bu Sumarni Wati", "sum@contoh.id", "Kripik Sumarni"
    )
    assert sumarni.notes == "Pesan tiap bulan\nNomor lain: 0813-2222-3333, 0342 801234"
    assert stored["6285733334444"].name == "Agus"


def test_it_imports_a_google_contacts_csv_of_the_older_shape(owner_client):
    confirm(owner_client, preview(owner_client, csv_upload(GOOGLE_OLDER)))
    darto = Customer.objects.get()
    assert (darto.name, darto.phone, darto.email, darto.business_name) == (
        "Pak Darto", "6285711112222", "darto@contoh.id", "Batik Darto"
    )


def test_it_imports_an_outlook_csv(owner_client):
    upload = csv_upload(
        "First Name,Middle Name,Last Name,Title,Suffix,E-mail Address,Home Phone,"
        "Business Phone,Mobile Phone,Company,Job Title,Notes\n"
        "Dewi,,Lestari,,,dewi@contoh.id,0342 812345,,0821-6666-7777,Warung Dewi,,\n"
        "Hendra,,,,,,,0342 899111,,,,\n",
        name="outlook.CSV",
    )
    response = preview(owner_client, upload)
    assert "Hendra: tidak ada nomor HP (hanya 0342 899111)." in response.content.decode()
    confirm(owner_client, response)
    dewi = Customer.objects.get()
    assert (dewi.name, dewi.phone, dewi.email, dewi.business_name) == (
        "Dewi Lestari", "6282166667777", "dewi@contoh.id", "Warung Dewi"
    )


def test_the_format_is_found_from_the_content_not_the_name(owner_client):
    book = openpyxl.Workbook()
    book.active.append(["Nama", "No HP"])
    book.active.append(["Dewi", "0812-3456-7890"])
    buffer = io.BytesIO()
    book.save(buffer)
    # A workbook that was given a .csv name, and a vCard named .txt.
    response = preview(owner_client, SimpleUploadedFile("pelanggan.csv", buffer.getvalue()))
    assert response.context["confirm_form"].initial["format"] == XLSX_FORMAT
    confirm(owner_client, response)
    response = preview(owner_client, vcf(VCARD_40, name="kontak.txt"))
    assert response.context["confirm_form"].initial["format"] == VCF_FORMAT
    confirm(owner_client, response)
    assert set(customers()) == {"6281234567890", "6281344445555"}


def test_automatic_is_the_first_choice_and_the_default(owner_client):
    form = owner_client.get(IMPORT_URL).context["form"]
    choices = list(form.fields["format"].choices)
    assert choices[0] == (AUTOMATIC, "Otomatis (dari isi file)")
    assert [label for _value, label in choices[1:]] == ["csv", "xlsx", "xls", "vcf"]
    assert not form["format"].value()


def test_a_format_chosen_by_the_user_is_used(owner_client):
    # A vCard read as CSV on the user's word: no Nama or No HP column in it.
    response = preview(owner_client, vcf(VCARD_30), file_format=CSV_FORMAT)
    assert response.context.get("confirm_form") is None
    assert not Customer.objects.exists()
    response = preview(owner_client, vcf(VCARD_30, name="kontak.dat"), file_format=VCF_FORMAT)
    confirm(owner_client, response)
    assert Customer.objects.get().phone == "6285711112222"


def test_a_vcard_is_refused_by_the_opportunity_import_with_where_to_go(owner_client):
    response = preview(owner_client, vcf(VCARD_30), url=OPPORTUNITY_IMPORT_URL)
    assert "Ini file kontak (vCard). Impor di Pelanggan." in response.content.decode()


def test_a_vcard_in_utf16_is_read(owner_client):
    upload = SimpleUploadedFile("kontak.vcf", VCARD_40.encode("utf-16"))
    confirm(owner_client, preview(owner_client, upload))
    assert Customer.objects.get().name == "Rina Wati"


def test_a_vcard_past_the_row_limit_is_refused(owner_client, settings):
    settings.IMPORT_MAX_ROWS = 2
    response = preview(owner_client, vcf(VCARD_30 + VCARD_40 + IPHONE_VCARDS))
    assert "lebih dari 2 baris" in response.content.decode()
    assert response.context.get("confirm_form") is None
