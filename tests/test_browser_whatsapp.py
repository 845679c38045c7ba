"""WhatsApp journeys in a real browser, on a desktop and a phone (360×740).

A double tap on "Kirim" sends once, and a paused sending tells the owner
why on the dashboard and is lifted by "Coba lagi". The checker in
tests/browser.py fails a test on a JavaScript or CSP error, a failed
request or a page wider than the phone.
"""

import pytest
from django.utils import timezone

from crm.models import Message, MessageBatch, SendingState
from crm.whatsapp import gateway, pauses

pytest.register_assert_rewrite("tests.browser")
from tests.browser import require_chromium  # noqa: E402

require_chromium()
pytest_plugins = ["tests.browser"]  # the browser and ui fixtures
expect = pytest.importorskip("playwright.sync_api").expect


def tick_rows(page, *names):
    rows = page.locator("#result_list tbody tr")
    for name in names:
        rows.filter(has_text=name).locator("input.action-select").check()


def test_a_double_tap_on_send_sends_once(ui, admin_user, make_customer, kirimwa):
    make_customer(name="Dewi", phone="0812-3456-7890")
    make_customer(name="Sari", phone="+62 857 1111 2222")
    make_customer(name="Budi", phone="0813-5555-6666")  # not selected
    page = ui.page
    ui.log_in(admin_user)
    ui.goto("/admin/crm/customer/")
    tick_rows(page, "Dewi", "Sari")
    ui.run_action("send_whatsapp")
    page.fill("textarea[name=text]", "Halo {nama}, kripik pedas baru sudah siap!")
    ui.click_and_load(page.get_by_role("button", name="Pratinjau"))
    send = page.get_by_role("button", name="Kirim ke 2 pelanggan")

    # Two quick taps: Chromium posts a form once while its answer is awaited.
    send.dblclick()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert "2 pesan WhatsApp masuk antrean" in " ".join(ui.messages())
    assert MessageBatch.objects.count() == 1
    assert sorted(Message.objects.values_list("customer__name", flat=True)) == ["Dewi", "Sari"]
    assert len(kirimwa.sent) == 2

    # Back, which posts the Preview again, and "Kirim" again: the same send.
    page.go_back()
    ui.click_and_load(page.get_by_role("button", name="Kirim ke 2 pelanggan"))
    said = " ".join(ui.messages())
    assert "Sudah dikirim: 2 pesan WhatsApp" in said and "tidak ada yang dikirim lagi" in said
    assert MessageBatch.objects.count() == 1
    assert Message.objects.count() == 2
    assert len(kirimwa.sent) == 2


def test_a_paused_sending_says_why_on_the_dashboard_until_tried_again(ui, admin_user):
    pauses.pause_sending(gateway.PAUSE_TOKEN, "401 Unauthorized", timezone.now())
    page = ui.page
    ui.log_in(admin_user)  # opens the dashboard

    alert = page.locator(".crm-whatsapp-alert", has_text="Token KirimWA ditolak")
    assert alert.is_visible()
    assert "periksa KIRIMWA_API_TOKEN" in alert.inner_text()  # the cause and the fix
    ui.click_and_load(alert.get_by_role("button", name="Coba lagi"))

    assert page.url == ui.base_url + "/admin/"
    assert page.locator(".crm-whatsapp-alert", has_text="Token KirimWA ditolak").count() == 0
    assert SendingState.objects.get(pk=1).paused_reason == ""
