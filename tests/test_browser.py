"""The journeys a shop owner clicks through, in a real browser, on a desktop and a phone.

Each test runs twice (the ``ui`` fixture: 1280×800, and 360×740 with touch)
and fails on anything the checker in tests/browser.py sees: JavaScript or
Content-Security-Policy errors, failed requests, a request leaving the app's
server, or a page wider than the phone.
"""

import pytest

from crm.models import Customer, ImportRecord, Message, StageChange
from tests.spreadsheet_files import xlsx_bytes

pytest.register_assert_rewrite("tests.browser")
from tests.browser import require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser and ui fixtures

PASSWORD = "rahasia-kuat-123"
LOCKED = "Terlalu banyak percobaan masuk"


@pytest.fixture
def owner(admin_user):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    return admin_user


def table_rows(page):
    return page.locator("#result_list tbody tr")


def tick_rows(page, *names):
    """Tick the change list's checkbox on each row showing one of ``names``."""
    for name in names:
        table_rows(page).filter(has_text=name).locator("input.action-select").check()


def upload(ui, name, content, mime_type):
    """Choose a file on the import page and submit it (the page guesses its format)."""
    ui.page.set_input_files(
        "input[name=import_file]", files=[{"name": name, "mimeType": mime_type, "buffer": content}]
    )
    ui.click_and_load(ui.page.locator("form[enctype] input[type=submit]"))


# --- Every page --------------------------------------------------------------


def test_every_main_page_opens_cleanly(ui, owner, make_opportunity, make_customer):
    customer = make_customer(name="Bu Sum", phone="0812-3456-7890", city="Blitar")
    opportunity = make_opportunity(customer=customer, title="Kripik tempe 50 bungkus")
    ui.log_in(owner)
    for path in [
        "/admin/?period=all_time",
        "/admin/crm/opportunity/board/",
        "/admin/crm/customer/import/",
        "/admin/crm/customer/export/",
        "/admin/crm/opportunity/import/",
        "/admin/crm/importrecord/",
        "/admin/crm/customer/",
        "/admin/crm/customer/?q=0812+3456",
        "/admin/crm/customer/add/",
        f"/admin/crm/customer/{customer.pk}/change/",
        f"/admin/crm/customer/{customer.pk}/send-whatsapp/",
        "/admin/crm/opportunity/",
        "/admin/crm/opportunity/?stage__exact=prospect",
        "/admin/crm/opportunity/add/",
        f"/admin/crm/opportunity/{opportunity.pk}/change/",
        "/admin/crm/message/",
        "/admin/crm/messagebatch/",
        "/admin/crm/messagetemplate/",
    ]:
        response = ui.goto(path)
        assert response.status == 200, path
    # The checker has looked at each page's width on the phone as it loaded.


# --- Logging in --------------------------------------------------------------


def test_logging_in_with_a_typo_then_being_locked_out(ui, owner, settings):
    settings.AXES_FAILURE_LIMIT = 3
    ui.allow_status(429, "/admin/login/")  # what a lockout answers
    page = ui.page

    def log_in(password):
        page.fill("input[name=username]", owner.username)
        page.fill("input[name=password]", password)
        ui.click_and_load(page.locator("button[type=submit]"))

    ui.goto("/admin/")
    assert page.url.startswith(ui.base_url + "/admin/login/")  # sent to log in first
    log_in("salah-ketik")
    assert "sandi yang benar" in page.locator(".callout-danger, .alert-danger").inner_text()
    log_in(PASSWORD)
    assert page.url == ui.base_url + "/admin/"
    assert page.locator("[data-figure=closing-rate]").is_visible()

    # Log out from the user menu, then guess until locked out.
    page.locator(f'a[title="{owner.username}"]').click()
    ui.click_and_load(page.get_by_role("button", name="Keluar"))
    ui.goto("/admin/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in("tebak-tebakan")
    assert LOCKED in page.get_by_role("alert").inner_text()
    log_in(PASSWORD)  # even the right password waits out the lock
    assert LOCKED in page.get_by_role("alert").inner_text()
    assert page.url.startswith(ui.base_url + "/admin/login/")


# --- Customers ---------------------------------------------------------------


def test_adding_a_customer_then_finding_them_by_part_of_the_number(ui, owner, make_customer):
    make_customer(name="Pak Darto", phone="0813-1111-2222")
    page = ui.page
    ui.log_in(owner)
    ui.goto("/admin/crm/customer/")
    ui.click_and_load(page.get_by_role("link", name="Tambahkan pelanggan"))
    page.fill("input[name=name]", "Bu Sum")
    page.fill("input[name=phone]", "0812-3456-7890")
    page.fill("input[name=business_name]", "Kripik Bu Sum")
    ui.click_and_load(page.locator("input[name=_save]"))

    assert Customer.objects.get(name="Bu Sum").phone == "6281234567890"
    assert "berhasil ditambahkan" in " ".join(ui.messages())
    page.fill("#searchbar", "812345")
    with page.expect_navigation():
        page.press("#searchbar", "Enter")
    assert table_rows(page).count() == 1
    row = table_rows(page).first
    assert "Bu Sum" in row.inner_text()
    assert row.get_by_role("link", name="+62 812-3456-7890", exact=True).is_visible()


# --- Import ------------------------------------------------------------------


def test_importing_a_spreadsheet_after_a_file_with_errors_then_undoing_it(ui, owner):
    page = ui.page
    ui.log_in(owner)
    ui.goto("/admin/crm/customer/")
    ui.click_and_load(page.locator("a.import_link"))

    upload(ui, "pelanggan.csv", (
        b"Nama,No HP,Kota\n"
        b"Bu Sum,0812-3456-7890,Blitar\n"
        b"Pak Salah,12345,Wlingi\n"
    ), "text/csv")
    error_row = page.locator("table.import-preview tbody tr")
    assert error_row.count() == 1
    assert error_row.locator("td").first.inner_text() == "3"  # as the spreadsheet counts
    assert "Nomor HP tidak valid" in error_row.inner_text()
    assert page.locator("input[name=confirm]").count() == 0  # nothing to confirm
    assert not Customer.objects.exists()

    upload(ui, "pelanggan.xlsx", xlsx_bytes([
        ["Nama", "No HP", "Kota"],
        ["Bu Sum", "0812-3456-7890", "Blitar"],
        ["Pak Darto", "+62 813 1111 2222", "Wlingi"],
    ]), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert page.locator("[data-total=new]").inner_text() == "2"
    assert page.locator("table.import-preview tr.new").count() == 2
    assert not Customer.objects.exists()  # the preview writes nothing
    ui.click_and_load(page.locator("input[name=confirm]"))
    assert page.url.startswith(ui.base_url + "/admin/crm/customer/")
    assert set(Customer.objects.values_list("name", flat=True)) == {"Bu Sum", "Pak Darto"}
    assert table_rows(page).filter(has_text="Pak Darto").count() == 1

    ui.goto("/admin/crm/importrecord/")  # "Riwayat impor"
    tick_rows(page, "pelanggan.xlsx")
    ui.run_action("undo_imports")
    assert "1 impor dibatalkan" in " ".join(ui.messages())
    assert not Customer.objects.exists()
    assert ImportRecord.objects.get().reverted_at is not None


# --- WhatsApp ----------------------------------------------------------------


def test_sending_an_offer_on_whatsapp_to_selected_customers(ui, owner, make_customer, kirimwa):
    make_customer(name="Dewi", phone="0812-3456-7890", city="Blitar")
    make_customer(name="Sari", phone="+62 857 1111 2222", city="Wlingi")
    make_customer(name="Tono", phone="0812-9999-0000", whatsapp_opt_out=True)
    make_customer(name="Budi", phone="0813-5555-6666")  # not selected
    page = ui.page
    ui.log_in(owner)
    ui.goto("/admin/crm/customer/")
    tick_rows(page, "Dewi", "Sari", "Tono")
    ui.run_action("send_whatsapp")

    recipients = page.locator("[data-figure=recipients]").inner_text()
    assert "2 pelanggan akan menerima pesan ini" in recipients
    assert "Tono: menolak pesan WhatsApp" in page.locator("[data-skipped]").inner_text()
    page.fill("textarea[name=text]", "Halo {nama}, kripik pedas baru sudah siap!")
    ui.click_and_load(page.get_by_role("button", name="Pratinjau"))
    previews = page.locator("[data-preview]").all_inner_texts()
    assert any("Halo Dewi, kripik pedas baru sudah siap!" in text for text in previews)
    assert not Message.objects.exists()  # nothing queued before Send
    ui.click_and_load(page.get_by_role("button", name="Kirim ke 2 pelanggan"))

    # The test task backend ran the sending when the request's transaction committed.
    assert sorted((m["phone_number"], m["message"]) for m in kirimwa.sent) == [
        ("6281234567890", "Halo Dewi, kripik pedas baru sudah siap!"),
        ("6285711112222", "Halo Sari, kripik pedas baru sudah siap!"),
    ]
    ui.goto("/admin/crm/message/")
    assert table_rows(page).count() == 2
    for row in table_rows(page).all():
        assert "Terkirim" in row.inner_text()


# --- The pipeline board ------------------------------------------------------


def card(page, opportunity):
    return page.locator(f'article[data-opportunity="{opportunity.pk}"]')


def column(page, stage):
    return page.locator(f'.crm-column[data-stage="{stage}"]')


def move_by_tap(ui, opportunity, stage, lost_reason=""):
    """The phone's way: open "Pindahkan" on the card, pick the stage, press the button."""
    page = ui.page
    moving = card(page, opportunity)
    moving.locator("summary").click()
    ui.check_width()  # the opened control fits the card
    moving.locator("select[name=stage]").select_option(stage)
    if lost_reason:
        moving.locator("input[name=lost_reason]").fill(lost_reason)
    ui.click_and_load(moving.get_by_role("button", name="Pindahkan"))


def move_by_dragging(ui, opportunity, stage, lost_reason=""):
    """The desktop's way: drag the card onto the column (a drop on Batal asks why)."""
    page = ui.page
    if lost_reason:
        page.once("dialog", lambda dialog: dialog.accept(lost_reason))
    with page.expect_navigation():
        card(page, opportunity).drag_to(column(page, stage))


def test_moving_deals_across_the_board_to_won_and_to_lost(ui, owner, make_opportunity):
    deal = make_opportunity(title="Kripik tempe 50 bungkus", stage="negotiation")
    lost = make_opportunity(title="Batik tulis 3 lembar", stage="proposal")
    page = ui.page
    ui.log_in(owner)
    ui.goto("/admin/crm/opportunity/board/")
    move = move_by_tap if ui.phone else move_by_dragging

    move(ui, deal, "won")
    assert column(page, "won").locator("article").count() == 1
    deal.refresh_from_db()
    assert (deal.stage, deal.status) == ("won", "won") and deal.closed_at is not None

    if ui.phone:
        # Batal without a reason is refused, and says so.
        move_by_tap(ui, lost, "lost")
        assert "alasan" in " ".join(ui.messages()).lower()
        assert column(page, "proposal").locator("article").count() == 1
    move(ui, lost, "lost", lost_reason="Harga terlalu mahal")
    assert column(page, "lost").get_by_text("Batik tulis 3 lembar").is_visible()
    lost.refresh_from_db()
    assert (lost.stage, lost.lost_reason) == ("lost", "Harga terlalu mahal")
    assert StageChange.objects.filter(to_stage__in=["won", "lost"], changed_by=owner).count() == 2


# --- The dashboard -----------------------------------------------------------


def test_a_dashboard_figure_leads_to_the_deals_behind_it(ui, owner, make_opportunity):
    for title, stage in [
        ("Kripik 10 bungkus", "won"), ("Batik 2 lembar", "won"),
        ("Seragam 30 stel", "lost"), ("Catering 100 kotak", "proposal"),
    ]:
        make_opportunity(
            title=title, stage=stage, lost_reason="Harga" if stage == "lost" else "", owner=owner
        )
    page = ui.page
    ui.log_in(owner)
    assert page.locator("[data-figure=closing-rate]").inner_text() == "50%"  # 2 won of 4
    assert page.locator("[data-figure=win-rate]").inner_text() == "66,7%"  # 2 won, 1 lost
    ui.click_and_load(page.locator("a.crm-figure", has=page.locator("[data-figure=win-rate]")))

    assert page.url.startswith(ui.base_url + "/admin/crm/opportunity/?")
    rows = table_rows(page).all_inner_texts()
    assert len(rows) == 3, rows  # the closed deals: won and lost, not the open one
    for title in ["Kripik 10 bungkus", "Batik 2 lembar", "Seragam 30 stel"]:
        assert any(title in row for row in rows), title


# --- Language ----------------------------------------------------------------


def test_switching_between_indonesian_and_english(ui, owner):
    page = ui.page
    ui.log_in(owner)

    def choose_language(name):
        page.locator("#crm-language-toggle").click()
        ui.click_and_load(page.locator("#jazzy-languagemenu").get_by_role("button", name=name))

    assert page.locator("html").get_attribute("lang") == "id"
    assert page.get_by_role("heading", name="Pipeline per tahap").is_visible()
    choose_language("English")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Pipeline by stage").is_visible()
    ui.goto("/admin/crm/customer/")
    assert page.get_by_role("link", name="Add customer").is_visible()
    choose_language("Bahasa Indonesia")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.get_by_role("link", name="Tambahkan pelanggan").is_visible()
    assert page.url.endswith("/admin/crm/customer/")  # the chooser keeps the page
