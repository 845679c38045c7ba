"""Smoke test in a real browser: the admin pages work on a desktop and a phone.

The full journeys are a later issue; this catches what the test client
cannot see: JavaScript errors, missing static files, a page wider than a phone.
"""

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

if not shutil.which(CHROMIUM):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's chromium to run the browser tests",
        allow_module_level=True,
    )
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 360, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "user_agent": (
            "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
        ),
    },
}


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test makes between browser steps are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def demo_pipeline(transactional_db, make_opportunity, make_customer):
    customer = make_customer(name="Bu Sum", phone="0812-3456-7890", city="Blitar")
    make_opportunity(customer=customer, title="Kripik tempe 50 bungkus", amount=400_000)
    return customer


@pytest.mark.parametrize("device", VIEWPORTS)
def test_the_admin_pages_work_in_a_real_browser(
    browser, live_server, admin_user, demo_pipeline, device
):
    admin_user.set_password("rahasia-123")
    admin_user.save()
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"javascript: {e}"))
    page.on(
        "response",
        lambda r: r.url.startswith(live_server.url) and r.status >= 400
        and problems.append(f"{r.status} {r.url}"),
    )

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", "rahasia-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    opportunity = demo_pipeline.opportunities.get()
    for path in [
        "/admin/",
        "/admin/?period=all_time",
        "/admin/crm/opportunity/board/",
        "/admin/crm/customer/import/",
        "/admin/crm/customer/export/",
        "/admin/crm/opportunity/import/",
        "/admin/crm/importrecord/",
        "/admin/crm/customer/",
        "/admin/crm/customer/?q=0812+3456",
        "/admin/crm/customer/add/",
        f"/admin/crm/customer/{demo_pipeline.pk}/change/",
        "/admin/crm/opportunity/",
        "/admin/crm/opportunity/?stage__exact=prospect",
        "/admin/crm/opportunity/add/",
        f"/admin/crm/opportunity/{opportunity.pk}/change/",
    ]:
        page.goto(live_server.url + path)
        assert page.locator("body").is_visible()
        if device == "phone":
            too_wide = page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            assert not too_wide, f"{path} is wider than the phone screen"
    page.goto(f"{live_server.url}/admin/crm/customer/?q=0812+3456")
    assert page.get_by_text("+62 812-3456-7890").is_visible()

    # Moving a card with the tap control works without drag and drop.
    page.goto(f"{live_server.url}/admin/crm/opportunity/board/")
    card = page.locator(f'article[data-opportunity="{opportunity.pk}"]')
    card.locator("summary").click()
    card.locator("select[name=stage]").select_option("contacted")
    card.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator('.crm-column[data-stage="contacted"] article').count() == 1
    opportunity.refresh_from_db()
    assert opportunity.stage == "contacted"

    if device == "desktop":
        # Drag and drop; a drop on Batal asks for the reason in a prompt.
        page.once("dialog", lambda dialog: dialog.accept("Harga terlalu mahal"))
        page.locator(f'article[data-opportunity="{opportunity.pk}"]').drag_to(
            page.locator('.crm-column[data-stage="lost"]')
        )
        page.wait_for_selector('.crm-column[data-stage="lost"] article')
        opportunity.refresh_from_db()
        assert (opportunity.stage, opportunity.lost_reason) == ("lost", "Harga terlalu mahal")
    context.close()
    assert problems == []
