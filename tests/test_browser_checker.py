"""The browser tests' checker (tests/browser.py) catches what it promises to.

Each test serves a small deliberately broken page at the live server's
address (through Playwright's routing, so the page is exactly what the test
wrote) and asserts the checker reports the problem, and only that problem.
"""

import pytest

pytest.register_assert_rewrite("tests.browser")
from tests.browser import Browsing, require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser fixture

PAGE = "/checker/page/"


def serve(browsing, body, headers=None):
    """Answer PAGE on the app's address with ``body`` in a phone-ready HTML page."""
    browsing.page.route(
        browsing.base_url + PAGE,
        lambda route: route.fulfill(
            body="<!doctype html><html><head><meta name=viewport "
            'content="width=device-width, initial-scale=1"></head>'
            f'<body style="margin: 0">{body}</body></html>',
            content_type="text/html", headers=headers or {},
        ),
    )


def problems_on(browsing, body, headers=None):
    """Open ``body`` as a page of the app and return what the checker saw."""
    serve(browsing, body, headers)
    browsing.goto(PAGE)
    return browsing.finish()


@pytest.fixture
def open_at(browser, live_server):
    """Open a checked browser at a screen size; closed after the test."""
    opened = []

    def open_browsing(device):
        opened.append(Browsing(browser, live_server.url, device))
        return opened[-1]

    yield open_browsing
    for browsing in opened:
        browsing.finish()


@pytest.fixture(params=["desktop", "phone"])
def browsing(request, open_at):
    return open_at(request.param)


@pytest.fixture
def phone(open_at):
    return open_at("phone")


def test_a_clean_page_has_no_problems(browsing):
    assert problems_on(browsing, "<h1>Dasbor</h1><p>Closing rate 50%</p>") == []


def test_it_reports_a_script_error(browsing):
    problems = problems_on(browsing, "<script>window.hitungClosingRate();</script>")
    assert len(problems) == 1
    assert problems[0].startswith("JavaScript: ")
    assert "hitungClosingRate is not a function" in problems[0]


def test_it_reports_a_console_error(browsing):
    problems = problems_on(browsing, '<script>console.error("gagal memuat papan");</script>')
    assert len(problems) == 1
    assert problems[0].startswith("console error: gagal memuat papan")


def test_it_reports_and_blocks_a_request_to_another_host(browsing):
    problems = problems_on(browsing, '<img src="https://cdn.example.com/logo.png" alt="">')
    assert problems == ["request to another host: GET https://cdn.example.com/logo.png"]


def test_a_request_to_another_host_never_leaves_the_browser(browsing, fake_kirimwa):
    # Another server on this machine stands in for the internet: it hears nothing.
    image = f"{fake_kirimwa.url}/pixel.png"
    assert problems_on(browsing, f'<img src="{image}" alt="">') == [
        f"request to another host: GET {image}"
    ]
    assert fake_kirimwa.requests == []


def test_it_reports_a_failed_request_to_the_app(browsing):
    problems = problems_on(browsing, '<link rel="stylesheet" href="/static/crm/tidak-ada.css">')
    assert problems == [f"failed request: 404 GET {browsing.base_url}/static/crm/tidak-ada.css"]


def test_an_expected_error_status_is_not_a_problem(browsing):
    browsing.allow_status(404, "/static/crm/tidak-ada.css")
    assert problems_on(browsing, '<link rel="stylesheet" href="/static/crm/tidak-ada.css">') == []


def test_it_reports_a_content_security_policy_violation(browsing):
    problems = problems_on(
        browsing,
        "<script>document.title = 'inline';</script>",
        headers={"Content-Security-Policy": "script-src 'self'"},
    )
    violations = [p for p in problems if p.startswith("CSP violation: ")]
    assert len(violations) == 1
    assert violations[0] == (
        f"CSP violation: script-src-elem blocked inline at {browsing.base_url}{PAGE}:1"
    )
    # Chromium's own console line says the same; both name the policy.
    assert all("CSP" in p or "Content Security Policy" in p for p in problems)


def test_it_reports_a_page_wider_than_the_phone(phone):
    problems = problems_on(phone, '<div class="banner" style="width: 600px">Promo</div>')
    assert problems == [
        f"too wide: {PAGE} is 600px wide on a 360px screen (div.banner sticks out)"
    ]


def test_a_wide_table_scrolling_in_its_own_box_is_fine_on_the_phone(phone):
    table = '<table style="width: 900px"><tr><td>Nama</td><td>Nomor WhatsApp</td></tr></table>'
    assert problems_on(phone, f'<div style="overflow-x: auto">{table}</div>') == []


def test_a_page_that_grows_wider_after_loading_is_caught_at_the_end(phone):
    serve(phone, '<p id="promo">Promo</p>')
    phone.goto(PAGE)
    phone.page.evaluate("document.getElementById('promo').style.width = '500px'")
    problems = phone.finish()  # the last page is measured again as the test ends
    assert problems == [f"too wide: {PAGE} is 500px wide on a 360px screen (p#promo sticks out)"]


def test_only_the_phone_must_fit_its_screen(open_at):
    assert problems_on(open_at("desktop"), '<div style="width: 1600px">Tabel lebar</div>') == []
