"""Error pages say what happened and what to do, in the user's language,
with no traceback, exception name or server path (templates/4xx, 500)."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from crm.roles import VIEWER

JARGON = ["Traceback", "Exception", "DisallowedModelAdminLookup", "PermissionDenied",
          "Http404", "/work/", "site-packages", "CSRF", "Forbidden (403)"]


def assert_plain(response, status, *words):
    html = response.content.decode()
    assert response.status_code == status
    for word in words:
        assert word in html, word
    for word in JARGON:
        assert word not in html, word
    assert 'name="viewport"' in html  # laid out for a phone
    assert reverse("admin:index") in html  # and a way back


@pytest.fixture
def viewer(client, make_staff):
    user = make_staff("viewer", VIEWER)
    client.force_login(user)
    return user


def test_a_refused_filter_is_a_plain_400(client, viewer):
    url = reverse("admin:crm_customer_changelist") + "?name__regex=^(c+)+$"
    assert_plain(client.get(url), 400, "Alamat ini tidak benar", "Kembali ke CRM")


def test_a_page_the_role_may_not_open_is_a_plain_403(client, viewer):
    assert_plain(client.get(reverse("admin:crm_customer_add")), 403, "Tidak diizinkan",
                 "minta pemilik")


def test_a_missing_page_is_a_plain_404(client, viewer):
    assert_plain(client.get("/tidak-ada/"), 404,
                 "Halaman tidak ditemukan")


def test_an_expired_form_says_to_reload_it(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("admin:login"), {"username": "a", "password": "b"})
    assert_plain(response, 403, "Halaman ini sudah kedaluwarsa", "muat ulang")


def test_a_server_error_page_has_no_details_and_speaks_english_when_chosen(db):
    request = RequestFactory().get("/admin/")
    response = server_error(request)
    assert_plain(response, 500, "Terjadi kesalahan", "coba lagi")
    with translation.override("en"):
        response = server_error(request)
    assert_plain(response, 500, "Something went wrong", "try again")


def test_the_error_pages_follow_the_chosen_language(client, viewer, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("admin:crm_customer_add"))
    assert_plain(response, 403, "Not allowed", "ask the owner")
