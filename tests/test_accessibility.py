"""axe-core on every page of the menu, on a phone (360x740) and a desktop (1280x800).

The pages are those ``manage.py check_pages`` opens (each model's list, add,
change, history, delete, import and export pages, the dashboard, the board,
the WhatsApp send page, the user and group pages), plus the login page and
the password change page, opened as the owner with one record of each kind
(tests/test_language.py makes them). The test fails on any critical or
serious violation and lists each rule once with its elements and pages
(AXE_REPORT=/tmp/axe writes every element and page to /tmp/axe-<size>.json).
"""

import json
import os

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytest.register_assert_rewrite("tests.axe", "tests.browser")
from tests.axe import axe_violations  # noqa: E402
from tests.browser import CHROMIUM_ARGS, VIEWPORTS, require_chromium  # noqa: E402
from tests.test_language import make_records, pages_of_the_menu  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser fixture


def html_pages(user):
    """The menu's pages that are HTML pages for ``user`` (not a file to download,
    not a POST-only URL), asked through the test client."""
    client = Client()
    client.force_login(user)
    pages = []
    for url in pages_of_the_menu(user):
        response = client.get(url)
        if response.status_code == 200 and response.get("Content-Type", "").startswith(
            "text/html"
        ):
            pages.append(url)
    return pages


def log_in(context, base_url, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_no_critical_or_serious_violation_on_any_page(
    device, browser, live_server, django_user_model, settings
):
    assert CHROMIUM_ARGS  # the same Chromium as the journeys
    settings.WHITENOISE_USE_FINDERS = True
    owner = make_records(django_user_model)
    base_url = live_server.url
    context = browser.new_context(**VIEWPORTS[device], base_url=base_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    found = {}  # rule id -> {"impact", "help", "targets": set, "pages": []}
    opened = 0

    def check(url):
        nonlocal opened
        response = page.goto(url)
        if response is None or response.status != 200:
            return
        if not (response.headers.get("content-type") or "").startswith("text/html"):
            return
        opened += 1
        for violation in axe_violations(page):
            rule = found.setdefault(violation["id"], {
                "impact": violation["impact"], "help": violation["help"],
                "targets": {}, "pages": [],
            })
            rule["pages"].append(url)
            for target in violation["targets"]:
                rule["targets"][target] = rule["targets"].get(target, 0) + 1

    try:
        check(reverse("admin:login"))
        log_in(context, base_url, owner)
        for url in html_pages(owner):
            check(url)
    finally:
        context.close()

    assert opened > 40, f"only {opened} pages opened"
    if os.environ.get("AXE_REPORT"):  # every element and page, for whoever fixes them
        with open(f"{os.environ['AXE_REPORT']}-{device}.json", "w") as out:
            json.dump(found, out, indent=1)
    report = []
    for rule_id, rule in sorted(found.items(), key=lambda item: item[1]["impact"]):
        targets = sorted(rule["targets"].items(), key=lambda item: -item[1])
        shown = "; ".join(f"{target} ×{count}" for target, count in targets[:6])
        report.append(
            f"{rule['impact']} {rule_id} ({rule['help']}) on {len(rule['pages'])} of "
            f"{opened} pages (e.g. {rule['pages'][0]}), {len(targets)} distinct elements: "
            f"{shown}" + (f" … (+{len(targets) - 6})" if len(targets) > 6 else "")
        )
    assert not report, f"axe-core at {device} size:\n" + "\n".join(report)
