"""The change lists held in one hand (issue 19, points 1 and 2), in a real
browser at 360×740 and at 1280×800.

On a phone the customers, opportunities and messages are cards with the
first one on the first screen; the search comes first and the filters sit
behind one "Saring" button that counts the ones on, each a chip that takes it
off. Ticking cards (a large select area) brings up a bar of verbs, and a bulk
WhatsApp to five customers is the five ticks and three taps: the action, the
template, Send. The checker in tests/browser.py fails a test on a JavaScript
error, a failed request or a page wider than the phone.
"""

import re

import pytest

from crm.models import Customer, Message, MessageBatch, MessageTemplate, Stage, Status

pytest.register_assert_rewrite("tests.browser")
from tests.browser import require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser and ui fixtures
expect = pytest.importorskip("playwright.sync_api").expect

FIRST_SCREEN = {"phone": 740, "desktop": 800}


class Taps:
    """Counts the user's taps (clicks on a desktop)."""

    def __init__(self, ui):
        self.ui = ui
        self.count = 0

    def __call__(self, locator, *, loads=False):
        self.count += 1
        act = locator.tap if self.ui.phone else locator.click
        if loads:
            with self.ui.page.expect_navigation():
                act()
        else:
            act()


def select_area(page, name):
    """The select area of the row (a card on a phone) showing ``name``."""
    return page.locator("#result_list tbody tr").filter(has_text=name).locator("td.action-checkbox")


@pytest.fixture
def shop(make_customer):
    names = ["Dewi", "Sari", "Budi", "Wati", "Joko", "Rina", "Tono"]
    return [
        make_customer(name=name, business_name=f"Warung {name}", city="Blitar")
        for name in names
    ]


def test_the_first_customer_is_on_the_first_screen_as_a_card(ui, admin_user, shop):
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/")
    first = page.locator("#result_list tbody tr").first
    box = first.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= FIRST_SCREEN[ui.device]
    if ui.phone:
        # A card: name, business and town, chat and call; the rest left off.
        assert box["width"] <= 360
        text = first.inner_text()
        assert "Tono" in text and "Warung Tono" in text and "Blitar" in text
        assert first.locator("a.crm-chat").get_attribute("href").startswith("https://wa.me/62")
        assert first.locator("a.crm-call").get_attribute("href").startswith("tel:+62")
        assert first.locator("a.crm-call").is_visible()
        assert not first.locator(".field-source").is_visible()
        area = first.locator("td.action-checkbox").bounding_box()
        assert area["width"] >= 44 and area["height"] >= 44
        assert not page.locator("select[name=action]").is_visible()  # no menu and "Buka"
    else:
        assert page.locator("#result_list thead").is_visible()  # the table stays
        assert not page.locator("a.crm-call").first.is_visible()


def test_saring_counts_the_filters_on_and_a_chip_takes_one_off(ui, admin_user, shop):
    shop[0].source = Customer.Source.INSTAGRAM
    shop[0].save()
    page = ui.page
    taps = Taps(ui)
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/")
    saring = page.locator(".crm-filters > summary")
    assert saring.inner_text().strip() == "Saring"

    # Saring, then the choice: the list is filtered.
    taps(saring)
    taps(page.locator(".crm-filter-panel a", has_text="Instagram"), loads=True)
    assert taps.count == 2
    assert "Saring 1" in " ".join(saring.inner_text().split())
    expect(page.locator("#result_list tbody tr")).to_have_count(1)

    taps(saring)
    taps(page.locator(".crm-filter-panel a", has_text="Blitar"), loads=True)
    assert "Saring 2" in " ".join(saring.inner_text().split())
    chips = page.locator(".crm-filter-chips a.crm-chip")
    expect(chips).to_have_count(2)
    assert chips.first.bounding_box()["height"] >= 44

    # Each chip takes its own filter off and keeps the other one.
    taps(chips.filter(has_text="Instagram"), loads=True)
    assert "source" not in page.url and "city=Blitar" in page.url
    assert "Saring 1" in " ".join(saring.inner_text().split())
    expect(page.locator("#result_list tbody tr")).to_have_count(len(shop))
    ui.check_width()


def test_bulk_whatsapp_to_five_customers_is_five_ticks_and_three_taps(
    ui, admin_user, shop, kirimwa
):
    MessageTemplate.objects.create(name="Promo kripik", text="Halo {nama}, kripik pedas baru!")
    MessageTemplate.objects.create(name="Tagihan", text="Tagihan {judul}: {sisa}")  # deals only
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/")
    bar = page.locator(".crm-action-bar")
    assert bar.is_hidden()
    taps = Taps(ui)
    for ticked, customer in enumerate(shop[:5], start=1):
        taps(select_area(page, customer.name))
        # As a user looks before the next tap: the bar counts this one (a tap
        # while the bar slid in could land before the page settled).
        expect(bar.locator(".crm-action-count")).to_have_text(re.compile(rf"^{ticked}\b"))
    assert taps.count == 5
    assert bar.is_visible()
    assert "5" in bar.locator(".crm-action-count").inner_text()
    if ui.phone:
        bar_box = bar.bounding_box()
        assert bar_box["y"] + bar_box["height"] <= 740  # sticks to the screen's bottom

    taps(bar.get_by_role("button", name="Kirim WhatsApp (5)"), loads=True)
    recipients = page.locator("[data-figure=recipients]").inner_text()
    assert "5 pelanggan akan menerima pesan ini" in recipients
    assert page.locator(".crm-template-choice").filter(has_text="Tagihan").count() == 0
    taps(page.locator(".crm-template-choice", has_text="Promo kripik"))
    previews = page.locator("[data-previews]:visible .crm-message-text").all_inner_texts()
    assert previews
    assert all(text.startswith("Halo ") and "kripik pedas" in text for text in previews)
    taps(page.get_by_role("button", name="Kirim ke 5 pelanggan"), loads=True)

    assert taps.count == 5 + 3
    assert "5 pesan WhatsApp masuk antrean" in " ".join(ui.messages())
    batch = MessageBatch.objects.get()
    assert batch.template.name == "Promo kripik"
    assert sorted(Message.objects.values_list("customer__name", flat=True)) == sorted(
        c.name for c in shop[:5]
    )
    assert len(kirimwa.sent) == 5


def test_an_edited_template_text_waits_for_its_preview(ui, admin_user, shop):
    MessageTemplate.objects.create(name="Promo kripik", text="Halo {nama}, kripik pedas baru!")
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/")
    taps = Taps(ui)
    taps(select_area(page, "Dewi"))
    taps(page.locator(".crm-action-bar button[data-action=send_whatsapp]"), loads=True)
    taps(page.locator(".crm-template-choice", has_text="Promo kripik"))
    send = page.locator(".crm-send-confirm")
    assert send.is_visible()
    page.fill("textarea[name=text]", "Halo {nama}, diskon 10%!")
    assert send.is_hidden()  # the new text has not been previewed
    ui.click_and_load(page.get_by_role("button", name="Pratinjau"))
    assert "Halo Dewi, diskon 10%!" in page.locator("[data-previews=server]").inner_text()
    ui.click_and_load(page.get_by_role("button", name="Kirim ke 1 pelanggan"))
    assert [m.text for m in Message.objects.all()] == ["Halo Dewi, diskon 10%!"]


def test_every_row_the_filter_matches_across_pages_gets_the_whatsapp(
    ui, admin_user, make_customer
):
    for number in range(103):
        make_customer(name=f"Pelanggan {number:03}", city="Blitar")
    make_customer(name="Di Kediri", city="Kediri")
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/?city=Blitar")
    assert page.locator("#result_list tbody tr").count() < 103  # more than one page
    taps = Taps(ui)
    taps(page.locator("#result_list tbody td.action-checkbox").first)
    bar = page.locator(".crm-action-bar")
    taps(bar.locator(".crm-select-all"))
    assert "103" in bar.locator(".crm-action-count").inner_text()
    taps(bar.get_by_role("button", name="Kirim WhatsApp (103)"), loads=True)
    assert "103 pelanggan akan menerima pesan ini" in page.locator(
        "[data-figure=recipients]").inner_text()


def test_every_list_fits_the_phone_and_opens_its_filters(ui, admin_user, make_opportunity, shop):
    won = make_opportunity(customer=shop[0], title="Kripik 50 bungkus", stage=Stage.WON)
    make_opportunity(customer=shop[1], title="Batik 2 potong")
    Message.objects.create(customer=shop[0], phone=shop[0].phone, text="Halo Dewi",
                           status=Message.Status.FAILED)
    page = ui.page
    ui.log_in(admin_user)
    for path in [
        "/admin/crm/customer/",
        "/admin/crm/opportunity/",
        f"/admin/crm/opportunity/?status__exact={Status.WON}",  # the orders
        "/admin/crm/message/",
        "/admin/crm/messagebatch/",
        "/admin/crm/messagetemplate/",
        "/admin/crm/importrecord/",
    ]:
        ui.goto(path)
        saring = page.locator(".crm-filters > summary")
        if saring.count():
            saring.click()
            assert page.locator(".crm-filter-panel").is_visible()
        ui.check_width()
        if ui.phone and path.startswith("/admin/crm/opportunity/?"):
            card = page.locator("#result_list tbody tr").filter(has_text=won.title)
            text = card.inner_text()
            assert "Rp 800.000" in text and "Menang" in text
            # What is still owed, labelled (the label is the column's header).
            owed = card.locator(".field-outstanding_rupiah")
            assert owed.is_visible() and owed.get_attribute("data-label").lower().startswith("sisa")
            assert card.bounding_box()["y"] + card.bounding_box()["height"] <= 740
        if ui.phone and path == "/admin/crm/message/":
            card = page.locator("#result_list tbody tr").first
            assert "Dewi" in card.inner_text() and "Gagal" in card.inner_text()
