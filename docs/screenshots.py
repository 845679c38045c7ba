"""Take the README's screenshots (``make screenshots``).

Seeds the demo data into a throwaway SQLite database, serves it with Django's
development server on a free port, logs in as the demo user and saves PNGs of
the dashboard, the pipeline board, the customer list, a deal, the won deals,
an import preview and the WhatsApp confirmation page, at the phone size of the
browser tests first (360x740: our users hold a phone) and then at the desktop
size, into docs/screenshots/ (NAME-phone.png, NAME-desktop.png). Nothing is
sent: the WhatsApp page is shown before "Send".
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "screenshots"
sys.path.insert(0, str(ROOT))

from crm.management.commands.create_demo_admin import (  # noqa: E402
    DEMO_PASSWORD,
    DEMO_USERNAME,
)
from tests.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS  # noqa: E402

# An import preview: two new customers and one the demo data already knows.
IMPORT_CSV = (
    "Nama,No HP,Nama Usaha,Kota,Sumber\n"
    "Bu Sulastri,0812-3300-4411,Kripik Tempe Sulastri,Blitar,Instagram\n"
    "Pak Gunawan,+62 857 2200 1188,Batik Gunawan,Wlingi,Rekomendasi\n"
    "{known_name},{known_phone},,Kediri,\n"
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(*args, env):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


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


def settle(page):
    """Wait for the page and for jazzmin's sidebar to finish sliding away on a phone."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)


def shoot(page, name, device):
    settle(page)
    path = OUTPUT / f"{name}-{device}.png"
    page.screenshot(path=path, animations="disabled", caret="hide")
    print(f"Wrote {path.relative_to(ROOT)}")


def go(page, base_url, path):
    response = page.goto(base_url + path)
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")


def take_screenshots(base_url, known_customer, deal):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for device in ("phone", "desktop"):
            options = VIEWPORTS[device]
            context = browser.new_context(**options)
            page = context.new_page()
            go(page, base_url, "/admin/login/")
            page.fill("input[name=username]", DEMO_USERNAME)
            page.fill("input[name=password]", DEMO_PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")

            go(page, base_url, "/admin/")
            shoot(page, "dashboard", device)
            go(page, base_url, "/admin/crm/opportunity/board/")
            shoot(page, "board", device)
            go(page, base_url, "/admin/crm/customer/")
            shoot(page, "customers", device)
            go(page, base_url, f"/admin/crm/opportunity/{deal}/change/")
            shoot(page, "deal", device)
            go(page, base_url, "/admin/crm/opportunity/?status__exact=won")
            shoot(page, "orders", device)

            go(page, base_url, "/admin/crm/customer/import/")
            csv = IMPORT_CSV.format(known_name=known_customer[0], known_phone=known_customer[1])
            page.set_input_files("input[name=import_file]", files=[
                {"name": "pelanggan-baru.csv", "mimeType": "text/csv", "buffer": csv.encode()},
            ])
            with page.expect_navigation():
                page.locator("form[enctype] input[type=submit]").click()
            # The preview under the upload form, scrolled to its top.
            page.locator(".crm-import-totals").evaluate("element => element.scrollIntoView()")
            shoot(page, "import-preview", device)

            # Three customers ticked and the list's WhatsApp action sent, as the
            # list's form sends it, whatever its buttons look like at this size.
            go(page, base_url, "/admin/crm/customer/")
            with page.expect_navigation():
                page.evaluate("""() => {
                    const form = document.querySelector("#changelist-form");
                    [...form.querySelectorAll("input.action-select")].slice(0, 3)
                        .forEach((box) => { box.checked = true; });
                    form.querySelector("select[name=action]").value = "send_whatsapp";
                    const index = document.createElement("input");
                    Object.assign(index, {type: "hidden", name: "index", value: "0"});
                    form.append(index);
                    form.submit();
                }""")
            # Picking a template shows its preview and the Send button at once
            # (older pages: a <select> and a Preview button).
            choice = page.locator("label.crm-template-choice", has_text="Penawaran produk")
            if choice.count():
                choice.click()
            else:
                page.locator("select[name=template]").select_option(label="Penawaran produk")
                with page.expect_navigation():
                    page.get_by_role("button", name="Pratinjau").click()
            shoot(page, "whatsapp", device)
            context.close()
        browser.close()


def main():
    with tempfile.TemporaryDirectory(prefix="crm-screenshots-") as folder:
        env = {
            key: value for key, value in os.environ.items()
            if not key.startswith(("KIRIMWA_", "WHATSAPP_", "DJANGO_"))
        }
        env.update({
            "ENV_FILE": "",  # not the developer's .env
            "DEBUG": "1",  # needed by create_demo_admin; serves static files too
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{folder}/screenshots.sqlite3",
            "LOG_LEVEL": "WARNING",
        })
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("load_demo", env=env)
        manage("create_demo_admin", env=env)
        known = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from crm.models import Customer; c = Customer.objects.exclude(phone=None)"
             ".order_by('pk').first(); print(c.name); print(c.phone)"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        ).stdout.splitlines()
        deal = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from crm.models import Opportunity; print(Opportunity.objects"
             ".filter(status='won').order_by('pk').first().pk)"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        ).stdout.split()[-1]

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(base_url + "/admin/login/")
            take_screenshots(base_url, known[-2:], deal)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
