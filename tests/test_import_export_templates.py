import pytest

pytestmark = pytest.mark.urls("tests.import_export_site")

IMPORT_URL = "/admin/crm/customer/import/"
EXPORT_URL = "/admin/crm/customer/export/"


@pytest.fixture
def ie_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_import_page_lists_the_fields_it_will_import(ie_client):
    html = ie_client.get(IMPORT_URL).content.decode()
    assert "<code>name, phone, city</code>" in html
    # django-import-export has no Indonesian catalogue; ours covers its pages.
    assert "Kolom yang akan diimpor:" in html


def test_the_import_page_loads_its_scripts_after_django_jquery(ie_client):
    html = ie_client.get(IMPORT_URL).content.decode()
    jquery_init = html.index("admin/js/jquery.init.js")
    assert html.index("import_export/guess_format.js") > jquery_init
    assert "/admin/jsi18n/" in html


def test_the_export_page_lists_selectable_fields_with_its_scripts(ie_client):
    html = ie_client.get(EXPORT_URL).content.decode()
    assert 'class="selectable-field-export-row"' in html
    assert "import_export/export_selectable_fields.js" in html
    assert html.index("import_export/export_selectable_fields.js") < html.index(
        "crm/export_select_all.js"
    )
    assert "onchange=" not in html  # no inline script: works under a strict CSP


def test_an_import_preview_renders_in_the_project_template(ie_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "pelanggan.csv", b"name,phone,city\nDewi,6281234567890,Blitar\nRina,,Kediri\n"
    )
    response = ie_client.post(
        IMPORT_URL, {"import_file": upload, "format": "0", "resource": "0"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="table import-preview"' in html
    assert 'name="confirm"' in html
