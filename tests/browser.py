"""Browser tests' shared parts: Chromium through Playwright, and the checker.

A browser test asks for ``ui`` (a ``Browsing``: one browser context at the
desktop or the phone size, with its page) and does its steps; the fixture is
parametrized, so every test runs at both sizes. Whatever a user would suffer
and the steps might not notice fails the test at teardown:

- a JavaScript error (a console error or an uncaught exception);
- a request to the app's own server that fails (status 400 or more, or a
  network error) unless the test said it expects that status;
- a Content-Security-Policy violation;
- a request to any other host: the app must fetch nothing from the internet
  (users are on flaky mobile data), so such a request is blocked and reported;
- on the phone, a page wider than the screen (a table may scroll inside its
  own box; the page itself must not scroll sideways).

A test module calls ``require_chromium()`` first, which skips it without
Chromium, and names this module in ``pytest_plugins`` for the fixtures
(``browser``: one Chromium per module; ``ui``).
"""

import os
import re
import shutil
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

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

# Runs in every page before its own scripts, and reports through a binding
# rather than the console, so a report cannot be mistaken for the page's own.
_WATCH_PAGE = """
document.addEventListener("securitypolicyviolation", (event) => window.__reportProblem(
    "CSP violation",
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber}`
));
"""
_WATCH_WIDTH = """
window.__measureWidth = () => {
    const root = document.documentElement;
    if (root.scrollWidth <= root.clientWidth) return null;
    // Name the outermost element that sticks out, the one to fix.
    const culprit = [...document.body.querySelectorAll("*")].find(
        (element) => element.getBoundingClientRect().right > root.clientWidth + 1
    );
    const name = culprit ? culprit.tagName.toLowerCase() + (culprit.id ? "#" + culprit.id : "")
        + [...culprit.classList].map((c) => "." + c).join("") : "?";
    return `${location.pathname}${location.search} is ${root.scrollWidth}px wide`
        + ` on a ${root.clientWidth}px screen (${name} sticks out)`;
};
window.addEventListener("load", () => setTimeout(() => {
    const problem = window.__measureWidth();
    if (problem) window.__reportProblem("too wide", problem);
}, 0));
"""


def require_chromium():
    """Skip the calling test module when there is no Chromium or no Playwright."""
    if not shutil.which(CHROMIUM):
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's chromium to run the browser tests",
            allow_module_level=True,
        )
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Browsing:
    """One user's browser context at one screen size, watched for problems."""

    def __init__(self, browser, base_url, device):
        self.base_url = base_url.rstrip("/")
        self.device = device
        self.phone = device == "phone"
        self.problems = []
        self._allowed_statuses = set()
        self._finished = False
        self.context = browser.new_context(**VIEWPORTS[device], base_url=self.base_url)
        self.context.set_default_timeout(15_000)
        self.context.expose_function("__reportProblem", self._report)
        self.context.add_init_script(_WATCH_PAGE + (_WATCH_WIDTH if self.phone else ""))
        # Anything not on the app's own server is blocked before it leaves.
        elsewhere = re.compile("^(?!" + re.escape(self.base_url + "/") + ")")
        self.context.route(elsewhere, self._block_other_host)
        self.context.on("console", self._on_console)
        self.context.on("weberror", lambda error: self._report("JavaScript", str(error.error)))
        self.context.on("response", self._on_response)
        self.context.on("requestfailed", self._on_request_failed)
        self.page = self.context.new_page()

    # --- What the checker watches --------------------------------------------

    def _report(self, kind, text):
        problem = f"{kind}: {text}"
        if problem not in self.problems:  # a page measured twice is one problem
            self.problems.append(problem)

    def _own(self, url):
        return _origin(url) == _origin(self.base_url)

    def _block_other_host(self, route):
        self._report("request to another host", f"{route.request.method} {route.request.url}")
        route.abort("blockedbyclient")

    def _on_console(self, message):
        text = message.text
        if text.startswith("Failed to load resource"):
            return  # Chromium's line about a request the network listeners judge
        if message.type == "error" or "Content Security Policy" in text:
            where = message.location.get("url") or self.page.url
            self._report(f"console {message.type}", f"{text} ({where})")

    def _on_response(self, response):
        if not self._own(response.url) or response.status < 400:
            return
        if (response.status, urlsplit(response.url).path) in self._allowed_statuses:
            return
        self._report(
            "failed request", f"{response.status} {response.request.method} {response.url}"
        )

    def _on_request_failed(self, request):
        # ERR_ABORTED is the browser dropping a load because the page moved on
        # (a click during a font download), not the server failing.
        if self._own(request.url) and request.failure != "net::ERR_ABORTED":
            self._report("failed request", f"{request.failure} {request.method} {request.url}")

    def allow_status(self, status, path):
        """Expect this error status from this path (a lockout's 429): not a problem."""
        self._allowed_statuses.add((status, path))

    def check_width(self):
        """On the phone, report the current page if it is wider than the screen."""
        if self.phone:
            problem = self.page.evaluate("window.__measureWidth && window.__measureWidth()")
            if problem:
                self._report("too wide", problem)

    def finish(self):
        """Close the context; return every problem seen, the last page's width included."""
        if self._finished:
            return self.problems
        self._finished = True
        try:
            if self.page.url.startswith(self.base_url):
                self.check_width()
        finally:
            self.context.close()
        return self.problems

    # --- Steps most tests take -----------------------------------------------

    def log_in(self, user):
        """Start a session for ``user`` and open the dashboard.

        The session is made on the server, as a successful login would: the
        login form itself is one journey (test_browser.py), not every test's.
        """
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": self.base_url}]
        )
        self.page.goto("/admin/")

    def goto(self, path):
        """Open a page of the app by its path."""
        return self.page.goto(path)

    def run_action(self, name):
        """Pick the action ``name`` in a change list's action menu and press its button
        (on a phone: the selection bar's button for it)."""
        page = self.page
        if self.phone:  # the action bar's verb (templates/admin/change_list.html)
            self.click_and_load(page.locator(f'.crm-action-bar button[data-action="{name}"]'))
            return
        label = page.locator(f'select[name=action] option[value="{name}"]').inner_text()
        # jazzmin turns the <select> into a select2 box: open it, tap the option.
        page.locator("select[name=action] + .select2-container").click()
        page.get_by_role("option", name=label.strip(), exact=True).click()
        self.click_and_load(page.locator(".actions button[name=index]"))

    def click_and_load(self, target):
        """Click what loads a page (a link, a submit button) and wait until it has loaded.

        Playwright's click does not wait for the page it starts loading, and a
        POST answered on the same URL leaves nothing else to wait for.
        """
        with self.page.expect_navigation():
            target.click()

    def messages(self):
        """The texts of the admin's message banners on this page."""
        return [text.strip() for text in self.page.get_by_role("alert").all_inner_texts()]


@pytest.fixture(scope="module")
def browser():
    """One Chromium for a whole test module; each test gets its own context."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    # Playwright's sync API runs an event loop in this thread; the ORM calls a
    # test makes between browser steps are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(params=list(VIEWPORTS))
def ui(request, browser, live_server):
    """The test's browser at one screen size; fails the test on any problem seen."""
    browsing = Browsing(browser, live_server.url, request.param)
    yield browsing
    problems = browsing.finish()
    assert not problems, "The browser saw problems:\n" + "\n".join(problems)
