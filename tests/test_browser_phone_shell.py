"""The shell of every page on a phone (360×740) and a desktop: the bottom bar,
the one search, the owner's Settings, the board's columns and the dashboard.

Each test runs at both sizes (the ``ui`` fixture) and fails on anything the
checker in tests/browser.py sees (script errors, failed requests, a request
leaving the app's server, a page wider than the phone).
"""

import pytest
from django.db.models import Count, Sum

from crm.models import Opportunity, Stage
from crm.roles import OWNER, SALES, sync_roles

pytest.register_assert_rewrite("tests.browser", "tests.axe")
from tests.axe import assert_accessible  # noqa: E402
from tests.browser import require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser and ui fixtures

BAR = [
    ("/admin/", "Dasbor"),
    ("/admin/crm/customer/", "Pelanggan"),
    ("/admin/crm/opportunity/", "Peluang"),
    ("/admin/crm/opportunity/board/", "Papan"),
    ("/admin/crm/message/", "Pesan"),
]


@pytest.fixture
def shop(make_staff, make_customer, make_opportunity):
    """An owner and a salesperson, a few customers and deals in several stages."""
    from django.contrib.auth.models import Group, Permission

    # The live server's database is emptied between tests, the roles with it.
    sync_roles(Group, Permission)
    owner = make_staff("pemilik", OWNER)
    sari = make_staff("sari", SALES, first_name="Sari")
    heru = make_customer(name="Heru Santoso", business_name="Kripik Heru", city="Blitar")
    make_customer(name="Siti Rahayu", city="Blitar")
    make_opportunity(title="Seragam batik 40 stel", customer=heru, amount=1_260_000,
                     stage=Stage.PROPOSAL, owner=sari)
    make_opportunity(title="Kripik tempe 100", amount=800_000, stage=Stage.PROPOSAL)
    make_opportunity(title="Jajan pasar", amount=350_000, stage=Stage.WON)
    return owner, sari


def bar_link(page, path):
    return page.locator(f'.crm-bottom-bar a[href="{path}"]')


def test_the_bottom_bar_reaches_each_of_its_pages_in_one_tap(ui, shop):
    owner, _sari = shop
    ui.log_in(owner)
    page = ui.page
    if not ui.phone:
        # A desktop has the side menu instead.
        assert not page.locator(".crm-bottom-bar").is_visible()
        return
    for path, _label in BAR:
        link = bar_link(page, path)
        box = link.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44
        ui.click_and_load(link)  # one tap
        assert page.url.endswith(path)
        assert bar_link(page, path).get_attribute("aria-current") == "page"
        assert page.locator('.crm-bottom-bar a[aria-current="page"]').count() == 1
        ui.check_width()
        if path == "/admin/":
            assert_accessible(page)  # the shell (the other pages are their own tests')


def test_the_one_search_finds_a_customer_and_a_deal(ui, shop):
    owner, _sari = shop
    ui.log_in(owner)
    page = ui.page
    # One box in the header, not one per model.
    assert page.locator("#jazzy-navbar input[type=search]").count() == 1
    page.fill("#crm-search-q", "heru")
    ui.click_and_load(page.locator(".crm-header-search button"))
    customers = page.locator('[data-results="customer"]')
    deals = page.locator('[data-results="opportunity"]')
    assert "Heru Santoso" in customers.inner_text()
    assert "Seragam batik 40 stel" in deals.inner_text()
    assert "Rp 1.260.000" in deals.inner_text()
    assert_accessible(page)
    ui.click_and_load(deals.get_by_role("link", name="Seragam batik 40 stel"))
    assert "/admin/crm/opportunity/" in page.url and "/change/" in page.url


def test_a_salesperson_does_not_see_settings_and_the_owner_does(ui, shop):
    owner, sari = shop
    ui.log_in(sari)
    assert ui.page.locator(".crm-settings-menu").count() == 0
    assert ui.page.locator('a[href="/admin/auth/group/"]').count() == 0
    ui.context.clear_cookies()
    ui.log_in(owner)
    settings_menu = ui.page.locator(".crm-settings-menu")
    assert settings_menu.count() == 1
    assert settings_menu.locator('a[href="/admin/auth/group/"]').count() == 1
    assert settings_menu.locator('a[href="/admin/axes/accessattempt/"]').count() == 1


def test_the_boards_columns_count_and_total_as_the_database_does(ui, shop):
    owner, _sari = shop
    ui.log_in(owner)
    ui.goto("/admin/crm/opportunity/board/")
    page = ui.page
    expected = {
        row["stage"]: (row["count"], row["total"])
        for row in Opportunity.objects.values("stage").annotate(
            count=Count("pk"), total=Sum("amount")
        )
    }
    for stage in Stage.values:
        figures = page.locator(f'.crm-column[data-stage="{stage}"] .crm-column-sum')
        count, total = expected.get(stage, (0, 0))
        assert int(figures.get_attribute("data-column-count")) == count
        assert int(figures.get_attribute("data-column-total")) == total
    proposal = page.locator('.crm-column[data-stage="proposal"] .crm-column-sum')
    assert "Rp 2.060.000" in proposal.inner_text()
    move = page.locator(".crm-move summary").first
    box = move.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    ui.check_width()
    assert_accessible(page)


def test_a_refused_move_on_the_board_keeps_the_card_and_names_it(ui, shop):
    owner, _sari = shop
    ui.log_in(owner)
    ui.goto("/admin/crm/opportunity/board/")
    page = ui.page
    card = page.locator(".crm-card", has_text="Kripik tempe 100")
    card.locator(".crm-move summary").click()
    card.locator("select[name=stage]").select_option("lost")
    ui.click_and_load(card.get_by_role("button", name="Pindahkan"))
    assert any("Kripik tempe 100" in message for message in ui.messages())
    proposal = page.locator('.crm-column[data-stage="proposal"]')
    assert proposal.locator(".crm-card", has_text="Kripik tempe 100").count() == 1


def test_the_dashboard_opens_a_definition_on_tap_and_fits_the_phone(ui, shop):
    owner, _sari = shop
    ui.log_in(owner)
    page = ui.page
    tip = page.locator('[data-tip="closing-rate"]')
    assert not tip.is_visible()
    toggle = page.locator('[data-figure-card="closing-rate"] button.crm-figure-info')
    toggle.click()
    assert tip.is_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.url.endswith("/admin/")  # the tap opened the definition, not the list
    box = toggle.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    # The figure's number still opens its list.
    ui.click_and_load(page.locator('[data-figure="closing-rate"]'))
    assert "/admin/crm/opportunity/" in page.url
    ui.goto("/admin/")
    if ui.phone:
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        )
        owners = page.locator(".crm-owner-cards tbody tr").first
        assert owners.evaluate("(row) => getComputedStyle(row).display") == "block"
    assert_accessible(page)
