"""manage.py check_pages: every admin page from the menu, opened as the owner."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.models import Customer


@pytest.fixture
def demo(db, settings):
    # No collectstatic in tests: whitenoise serves the apps' files as they are.
    settings.WHITENOISE_USE_FINDERS = True
    call_command("load_demo", verbosity=0)


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("check_pages", *args, stdout=out, stderr=err)
    except CommandError as error:
        return False, out.getvalue(), err.getvalue() + str(error)
    return True, out.getvalue(), err.getvalue()


def test_it_opens_every_page_of_the_menu_and_passes(demo):
    ok, out, err = run("--make-records", "-v", "2")
    assert ok, err
    opened = {line.split()[1] for line in out.splitlines() if line.startswith("200 ")}
    # From the registry: lists, add and change pages, history, import, export,
    # the send page; from the menu: the board; and the dashboard.
    for url in [
        "/admin/", "/admin/crm/customer/", "/admin/crm/customer/add/",
        "/admin/crm/customer/import/", "/admin/crm/customer/export/",
        "/admin/crm/opportunity/board/", "/admin/crm/message/", "/admin/crm/messagebatch/",
        "/admin/auth/user/",
    ]:
        assert url in opened
    customer = Customer.objects.order_by("pk").first()
    assert f"/admin/crm/customer/{customer.pk}/change/" in opened
    assert f"/admin/crm/customer/{customer.pk}/history/" in opened
    assert f"/admin/crm/customer/{customer.pk}/send-whatsapp/" in opened
    assert any(url.startswith("/admin/crm/message/") and url.endswith("/change/")
               for url in opened)
    assert any(url.startswith("/static/") for url in opened)
    # The temporary owner is gone again.
    assert not get_user_model().objects.filter(username="page-check").exists()


def test_it_fails_listing_a_page_that_is_not_200(demo, monkeypatch):
    customer_admin = admin.site._registry[Customer]

    def broken(*args, **kwargs):
        raise RuntimeError("a missing package")

    monkeypatch.setattr(customer_admin, "get_export_formats", broken)
    ok, _out, err = run()
    assert not ok
    assert "FAIL 500 /admin/crm/customer/export/" in err


def test_it_fails_when_a_page_has_no_record_to_open_after_making_them(db):
    ok, _out, err = run("--make-records")
    assert not ok
    assert "load_demo" in err
