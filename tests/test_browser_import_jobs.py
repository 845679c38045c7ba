"""A large import watched in a real browser, on a desktop and a phone (360×740).

The confirmation lands on the job's progress page; the worker is played by
the test (the task is queued, not run), so the page is seen waiting, moving
and done, refreshed by its own script under the Content-Security-Policy.
The checker in tests/browser.py fails the test on a JavaScript or CSP error,
a failed request or a page wider than the phone.
"""

import datetime

import pytest
from django.utils import timezone

from crm import import_jobs
from crm.models import Customer, ImportJob

pytest.register_assert_rewrite("tests.browser")
from tests.browser import require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser and ui fixtures
expect = pytest.importorskip("playwright.sync_api").expect


def test_watching_the_progress_bar_of_a_large_import(ui, admin_user, settings, monkeypatch):
    settings.IMPORT_BACKGROUND_ROWS = 10
    monkeypatch.setattr(import_jobs, "_enqueue", lambda job: None)  # the worker is the test
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/import/")
    rows = "".join(f"Orang {i},0812-0000-{i:04d}\n" for i in range(50))
    page.set_input_files("input[name=import_file]", files=[{
        "name": "pelanggan-besar.csv", "mimeType": "text/csv",
        "buffer": ("Nama,No HP\n" + rows).encode(),
    }])
    ui.click_and_load(page.locator("form[enctype] input[type=submit]"))
    ui.click_and_load(page.locator("input[name=confirm]"))

    job = ImportJob.objects.get()
    assert page.url == f"{ui.base_url}/admin/crm/importrecord/job/{job.pk}/"
    bar = page.locator("progress[data-figure=bar]")
    expect(page.locator("[data-figure=status]")).to_have_text("Menunggu")
    expect(page.locator("[data-figure=rows]")).to_have_text("0 dari 50 baris (0%)")
    assert (bar.get_attribute("max"), bar.get_attribute("value")) == ("50", "0")
    if ui.phone:
        assert bar.bounding_box()["width"] >= 300  # the screen's width, less thin margins

    # The worker takes the job and is 20 rows in: the page moves by itself.
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", rows_done=20, started_at=timezone.now() - datetime.timedelta(seconds=8)
    )
    expect(page.locator("[data-figure=rows]")).to_have_text("20 dari 50 baris (40%)")
    expect(page.locator("[data-figure=time-left]")).to_have_text("kurang dari semenit lagi")
    assert bar.evaluate("bar => bar.value") == 20

    # A reload (or a phone that slept) shows the same.
    page.reload()
    expect(page.locator("[data-figure=rows]")).to_have_text("20 dari 50 baris (40%)")

    ImportJob.objects.filter(pk=job.pk).update(status="queued", rows_done=0)
    import_jobs.run(job.pk)
    expect(page.locator("[data-figure=summary]")).to_have_text(
        "Impor selesai: 50 baru, 0 diubah, 0 dilewati.", timeout=10_000
    )
    expect(page.locator("[data-figure=rows]")).to_have_text("50 dari 50 baris (100%)")
    assert Customer.objects.count() == 50
    ui.click_and_load(page.locator("a.crm-job-done"))
    assert page.url.startswith(f"{ui.base_url}/admin/crm/customer/")


def test_a_large_file_is_checked_in_the_background_then_confirmed(ui, admin_user, settings,
                                                                   monkeypatch):
    settings.IMPORT_PREVIEW_BACKGROUND_ROWS = 10
    settings.IMPORT_BACKGROUND_ROWS = 10
    monkeypatch.setattr(import_jobs, "_enqueue", lambda job: None)  # the worker is the test
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/import/")
    rows = "".join(f"Orang {i},0812-0000-{i:04d}\n" for i in range(40))
    page.set_input_files("input[name=import_file]", files=[{
        "name": "pelanggan-besar.csv", "mimeType": "text/csv",
        "buffer": ("Nama,No HP\n" + rows).encode(),
    }])
    ui.click_and_load(page.locator("form[enctype] input[type=submit]"))

    # The upload's request only stored the file: the check waits for the worker.
    preview_job = ImportJob.objects.get()
    assert (preview_job.kind, preview_job.rows_total) == ("preview", 41)  # lines, roughly
    assert page.url == f"{ui.base_url}/admin/crm/importrecord/job/{preview_job.pk}/"
    expect(page.locator("body")).to_contain_text("Memeriksa “pelanggan-besar.csv”")
    expect(page.locator("[data-figure=status]")).to_have_text("Menunggu")

    # The worker checks it: the page turns into the preview by itself.
    import_jobs.run(preview_job.pk)
    expect(page.locator("[data-total=new]")).to_have_text("40", timeout=10_000)
    assert page.url.endswith(f"/admin/crm/customer/import/?preview={preview_job.pk}")
    assert not Customer.objects.exists()

    ui.click_and_load(page.locator("input[name=confirm]"))
    import_job = ImportJob.objects.get(kind="import")
    assert page.url == f"{ui.base_url}/admin/crm/importrecord/job/{import_job.pk}/"
    import_jobs.run(import_job.pk)
    expect(page.locator("[data-figure=summary]")).to_have_text(
        "Impor selesai: 40 baru, 0 diubah, 0 dilewati.", timeout=10_000
    )
    assert Customer.objects.count() == 40
