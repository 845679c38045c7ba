"""The phone audit (``make audit``): Lighthouse scores and a first visit on fast 3G.

Seeds the demo data into a throwaway SQLite database, collects the static
files and serves the app as in production (gunicorn, DEBUG off, static files
from whitenoise) on a free port, logs in as the demo owner, then for the
dashboard, the customer list, a deal page and the pipeline board:

- runs Lighthouse 12.2.3 (npm, with Debian's Chromium) in its default mobile
  mode, in a Chromium whose profile holds the session cookie (``--port``), and
  reads the performance, accessibility and best-practices scores;
- opens the page once in a fresh phone-sized Chromium context (empty cache)
  under emulated fast 3G (150 ms round trip, 1.6 Mbps down, 750 kbps up) and a
  CPU four times slower (Chrome DevTools Protocol), and measures the time to
  the load event, the bytes transferred and the requests that blocked the
  first render; then once more in the same context (a repeat visit).

Prints each goal of issue 19 with "met" or "NOT met" (a page that could not be
measured is NOT met), writes everything to bench/results/audit.json, and exits
1 when a goal is not met.

Lighthouse is not a Python package: ``make audit`` installs it with npm into
bench/.lighthouse/ (git-ignored) the first time. Without Chromium or npm the
audit says so and stops.

Options: ``--pages dashboard,customers`` (a subset), ``--skip-lighthouse``,
``--skip-3g``, ``--runs N`` (3G visits per page, the median is kept; default 3).
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LIGHTHOUSE_DIR = Path(os.environ.get("LIGHTHOUSE_DIR", ROOT / "bench" / ".lighthouse"))
LIGHTHOUSE_VERSION = "12.2.3"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = "--headless --no-sandbox --disable-gpu"
sys.path.insert(0, str(ROOT))

# Issue 19's goals.
LIGHTHOUSE_GOALS = {"performance": 90, "accessibility": 95, "best-practices": 95}
FIRST_VISIT_SECONDS = 2.5
FIRST_VISIT_KB = 250
BLOCKING_REQUESTS = 10

# Fast 3G as DevTools defines it, and a slow phone's CPU.
FAST_3G = {
    "offline": False,
    "latency": 150,  # ms round trip
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,  # bytes per second
    "uploadThroughput": 750 * 1024 / 8,
}
CPU_SLOWDOWN = 4

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
    ),
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def manage(*args, env, capture=False):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
        capture_output=capture, text=True,
    )
    return result.stdout


def lighthouse_cli():
    cli = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
    return cli if cli.exists() else None


# --- The app ----------------------------------------------------------------


def app_environment(folder):
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("KIRIMWA_", "WHATSAPP_", "DJANGO_"))
    }
    env.update({
        "ENV_FILE": "",  # not the developer's .env
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{folder}/audit.sqlite3",
        "STATIC_ROOT": str(Path(folder) / "static"),
        "LOG_LEVEL": "WARNING",
        # Production, but on plain HTTP on this machine.
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    })
    return env


def prepare(env):
    """Migrate, seed the demo data and an owner, collect the static files.

    The demo commands refuse to run with DEBUG off (they would write a known
    password into a real database), so they run with DEBUG on; the server
    does not.
    """
    seeding = {**env, "DEBUG": "1"}
    manage("migrate", "--noinput", "-v", "0", env=seeding)
    manage("load_demo", env=seeding)
    manage("create_demo_admin", env=seeding)
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    deal = manage(
        "shell", "-c",
        "from crm.models import Opportunity; "
        "print(Opportunity.objects.filter(status='open').order_by('pk').first().pk)",
        env=env, capture=True,
    ).split()[-1]
    return {
        "dashboard": "/admin/",
        "customers": "/admin/crm/customer/",
        "deal": f"/admin/crm/opportunity/{deal}/change/",
        "board": "/admin/crm/opportunity/board/",
    }


def start_server(env, port):
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--access-logfile", "/dev/null"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def session_cookie(playwright, base_url):
    """Log in as the demo owner through the login form; return the session cookie."""
    from crm.management.commands.create_demo_admin import DEMO_PASSWORD, DEMO_USERNAME

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
    try:
        context = browser.new_context()
        page = context.new_page()
        page.goto(base_url + "/admin/login/")
        page.fill("input[name=username]", DEMO_USERNAME)
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        if "sessionid" not in cookies:
            raise SystemExit("Could not log in as the demo owner.")
        return cookies["sessionid"]
    finally:
        browser.close()


# --- Lighthouse ---------------------------------------------------------------


@contextmanager
def logged_in_chromium(playwright, cookie, folder):
    """A Chromium with the session cookie in its profile, for Lighthouse: yields
    its DevTools port.

    Lighthouse's --extra-headers Cookie is dropped by Chromium as soon as the
    page sets a cookie of its own (the CSRF cookie, on every admin page): the
    page's scripts (/admin/jsi18n/) were then fetched logged out. So the
    cookie goes into the browser itself, and Lighthouse drives that browser
    (--port), as its documentation advises for pages behind a login; it
    keeps cookies between runs.
    """
    port = free_port()
    chromium = subprocess.Popen(
        [CHROMIUM, *CHROME_FLAGS.split(), f"--remote-debugging-port={port}",
         f"--user-data-dir={Path(folder) / 'lighthouse-profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/json/version")
        browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        browser.contexts[0].add_cookies([{
            "name": cookie["name"], "value": cookie["value"],
            "domain": "127.0.0.1", "path": "/",
        }])
        yield port
    finally:
        chromium.terminate()
        chromium.wait(timeout=10)


def run_lighthouse(url, port, folder, tries=2):
    """{category: score 0-100} or {"error": why}; tried again after a runtime
    error (Lighthouse's trace sometimes misses the page load on a busy machine)."""
    for _try in range(tries):
        scores = _run_lighthouse(url, port, folder)
        if "error" not in scores:
            break
    return scores


def _run_lighthouse(url, port, folder):
    cli = lighthouse_cli()
    if cli is None:
        return {"error": f"Lighthouse is not installed in {LIGHTHOUSE_DIR}"}
    output = Path(folder) / f"lighthouse-{secrets.token_hex(4)}.json"
    command = [
        "node", str(cli), url,
        "--output=json", f"--output-path={output}", "--quiet",
        "--only-categories=performance,accessibility,best-practices",
        f"--port={port}",
    ]
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True,
                       timeout=300)
        report = json.loads(output.read_text())
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError,
            ValueError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        return {"error": f"Lighthouse failed: {detail.strip()[-300:]}"}
    if report.get("runtimeError"):
        return {"error": report["runtimeError"].get("message", "runtime error")}
    scores = {}
    for name in LIGHTHOUSE_GOALS:
        score = report["categories"][name]["score"]
        scores[name] = None if score is None else round(score * 100)
    failed = {}
    for name in ("accessibility", "best-practices"):
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if not ref.get("weight") or audit.get("scoreDisplayMode") != "binary":
                continue
            if (audit.get("score") or 0) < 1:
                items = (audit.get("details") or {}).get("items") or []
                failed[ref["id"]] = [
                    (item.get("node") or {}).get("selector") or item.get("description")
                    or item.get("source", {}).get("url") or str(item)[:120]
                    for item in items[:8]
                ]
    scores["failed audits"] = failed
    scores["final url"] = report.get("finalDisplayedUrl") or report.get("finalUrl")
    metrics = report["audits"]
    scores["metrics"] = {
        key: metrics[key].get("numericValue") for key in
        ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
         "cumulative-layout-shift", "speed-index")
        if key in metrics
    }
    return scores


# --- A visit on fast 3G -----------------------------------------------------------

_MEASURE = """() => {
    const navigation = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    return {
        load: navigation.loadEventEnd,
        domContentLoaded: navigation.domContentLoadedEventEnd,
        blocking: resources.filter((entry) => entry.renderBlockingStatus === "blocking")
            .map((entry) => entry.name),
        firstContentfulPaint: (performance.getEntriesByName("first-contentful-paint")[0]
            || {}).startTime || null,
    };
}"""


def visit_on_3g(browser, url, cookie):
    """A first visit (empty cache) and a repeat visit of ``url`` on fast 3G."""
    context = browser.new_context(**PHONE)
    try:
        context.add_cookies([{
            "name": cookie["name"], "value": cookie["value"],
            "domain": "127.0.0.1", "path": "/",
        }])
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", FAST_3G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        transferred = {"bytes": 0, "requests": 0, "urls": []}

        def finished(event):
            transferred["bytes"] += event.get("encodedDataLength", 0)
            transferred["requests"] += 1

        cdp.on("Network.loadingFinished", finished)
        visits = []
        for _visit in ("first", "repeat"):
            transferred.update(bytes=0, requests=0)
            response = page.goto(url, wait_until="load", timeout=120_000)
            if response is None or response.status != 200 or page.url != url:
                raise RuntimeError(
                    f"{url} answered {response and response.status} at {page.url}")
            page.wait_for_timeout(300)  # late loadingFinished events
            figures = page.evaluate(_MEASURE)
            visits.append({
                "seconds": round(figures["load"] / 1000, 2),
                "first contentful paint": figures["firstContentfulPaint"]
                and round(figures["firstContentfulPaint"] / 1000, 2),
                "kb": round(transferred["bytes"] / 1024, 1),
                "requests": transferred["requests"],
                "blocking": len(figures["blocking"]),
                "blocking urls": [name.replace(url.split("/admin")[0], "")
                                  for name in figures["blocking"]],
            })
        return {"first": visits[0], "repeat": visits[1]}
    finally:
        context.close()


def measure_3g(playwright, base_url, pages, cookie, runs):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
    results = {}
    try:
        for name, path in pages.items():
            tries = []
            error = None
            for _run in range(runs):
                try:
                    tries.append(visit_on_3g(browser, base_url + path, cookie))
                except Exception as problem:  # noqa: BLE001 - a page not measured is reported
                    error = str(problem)
            if not tries:
                results[name] = {"error": error}
                continue
            middle = sorted(tries, key=lambda t: t["first"]["seconds"])[len(tries) // 2]
            middle["first seconds, every run"] = [t["first"]["seconds"] for t in tries]
            middle["repeat seconds, median"] = statistics.median(
                t["repeat"]["seconds"] for t in tries)
            results[name] = middle
    finally:
        browser.close()
    return results


# --- The verdict ----------------------------------------------------------------


def goals(pages, lighthouse, network):
    """[(page, goal, figure, met)]; a figure that could not be measured is not met."""
    rows = []
    for name in pages:
        scores = lighthouse.get(name)
        for category, minimum in LIGHTHOUSE_GOALS.items():
            if scores is None:
                continue  # Lighthouse skipped on purpose
            value = scores.get(category)
            figure = scores.get("error", "not measured") if value is None else str(value)
            rows.append((name, f"Lighthouse {category} >= {minimum}", figure,
                         value is not None and value >= minimum))
        visit = network.get(name)
        if visit is None:
            continue
        if "error" in visit:
            for goal in (f"3G first visit <= {FIRST_VISIT_SECONDS} s",
                         f"3G first visit <= {FIRST_VISIT_KB} KB",
                         f"blocking requests <= {BLOCKING_REQUESTS}"):
                rows.append((name, goal, visit["error"][:60], False))
            continue
        first = visit["first"]
        rows.append((name, f"3G first visit <= {FIRST_VISIT_SECONDS} s",
                     f"{first['seconds']} s", first["seconds"] <= FIRST_VISIT_SECONDS))
        rows.append((name, f"3G first visit <= {FIRST_VISIT_KB} KB",
                     f"{first['kb']} KB", first["kb"] <= FIRST_VISIT_KB))
        rows.append((name, f"blocking requests <= {BLOCKING_REQUESTS}",
                     str(first["blocking"]), first["blocking"] <= BLOCKING_REQUESTS))
    return rows


def print_table(rows, network):
    width = max(len(goal) for _page, goal, _figure, _met in rows) if rows else 10
    print(f"\n{'page':<10} {'goal':<{width}} {'measured':>14}  verdict")
    for page, goal, figure, met in rows:
        figure = figure if len(figure) <= 14 else figure[:13] + "…"
        print(f"{page:<10} {goal:<{width}} {figure:>14}  {'met' if met else 'NOT met'}")
    for name, visit in network.items():
        if "repeat" in visit:
            print(f"{name}: repeat visit {visit['repeat seconds, median']} s, "
                  f"first contentful paint {visit['first']['first contentful paint']} s, "
                  f"{visit['first']['requests']} requests")
    met = sum(1 for row in rows if row[3])
    print(f"\n{met} of {len(rows)} goals met.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", help="comma-separated: dashboard,customers,deal,board")
    parser.add_argument("--skip-lighthouse", action="store_true")
    parser.add_argument("--skip-3g", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    if not shutil.which(CHROMIUM):
        raise SystemExit(f"No Chromium at {CHROMIUM}: apt-get install chromium")
    if not options.skip_lighthouse and lighthouse_cli() is None:
        raise SystemExit(
            f"Lighthouse is not in {LIGHTHOUSE_DIR}: npm install --prefix {LIGHTHOUSE_DIR} "
            f"-E lighthouse@{LIGHTHOUSE_VERSION} (make audit does it)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="crm-audit-") as folder:
        env = app_environment(folder)
        pages = prepare(env)
        if options.pages:
            wanted = options.pages.split(",")
            pages = {name: path for name, path in pages.items() if name in wanted}
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(env, port)
        try:
            wait_until_up(base_url + "/admin/login/")
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
            lighthouse = {}
            with sync_playwright() as playwright:
                cookie = session_cookie(playwright, base_url)
                network = {} if options.skip_3g else measure_3g(
                    playwright, base_url, pages, cookie, options.runs)
                if not options.skip_lighthouse:
                    with logged_in_chromium(playwright, cookie, folder) as port:
                        for name, path in pages.items():
                            print(f"Lighthouse: {path}", flush=True)
                            lighthouse[name] = run_lighthouse(base_url + path, port, folder)
        finally:
            server.terminate()
            server.wait(timeout=10)

    rows = goals(pages, lighthouse, network)
    print_table(rows, network)
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "lighthouse version": LIGHTHOUSE_VERSION,
        "network": {"fast 3G": FAST_3G, "cpu slowdown": CPU_SLOWDOWN},
        "pages": pages,
        "lighthouse": lighthouse,
        "3g": network,
        "goals": [{"page": p, "goal": g, "measured": f, "met": m} for p, g, f, m in rows],
    }
    path = RESULTS / "audit.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"Wrote {path.relative_to(ROOT)}")
    return 0 if rows and all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
