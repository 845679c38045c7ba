"""A phone's contacts (.vcf) imported in a real browser, on a desktop and a phone.

The format is left at Otomatis; the preview says which contact is skipped
and why, and the confirmation stores the others. The checker in
tests/browser.py fails the test on a JavaScript or CSP error, a failed
request or a page wider than the phone.
"""

import pytest

from crm.models import Customer
from tests.test_contacts_import import ANDROID_VCARD_21, IPHONE_VCARDS, WITHOUT_MOBILE

pytest.register_assert_rewrite("tests.browser")
from tests.browser import require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser and ui fixtures
expect = pytest.importorskip("playwright.sync_api").expect


def test_importing_a_phones_contacts_without_choosing_a_format(ui, admin_user):
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/import/")
    expect(page.locator("select[name=format] option:checked")).to_have_text(
        "Otomatis (dari isi file)"
    )
    page.set_input_files("input[name=import_file]", files=[{
        "name": "Kontak.vcf", "mimeType": "text/x-vcard",
        "buffer": (ANDROID_VCARD_21 + IPHONE_VCARDS + WITHOUT_MOBILE).encode(),
    }])
    # Choosing the file leaves the format to be found from its content.
    expect(page.locator("select[name=format] option:checked")).to_have_text(
        "Otomatis (dari isi file)"
    )
    ui.click_and_load(page.locator("form[enctype] input[type=submit]"))

    expect(page.locator("[data-total=new]")).to_have_text("3")
    expect(page.locator("[data-total=skip]")).to_have_text("2")
    expect(page.locator("table.import-preview")).to_contain_text(
        "Toko Bangunan Jaya: tidak ada nomor HP (hanya 0342 801999)."
    )
    ui.click_and_load(page.locator("input[name=confirm]"))
    assert sorted(Customer.objects.values_list("name", flat=True)) == [
        "Bu Sümarni Kripik Tempe Sanankulon Blitar", "Dewi Lestari", "Yanto"
    ]
