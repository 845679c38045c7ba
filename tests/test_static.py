"""The admin in production's static-file storage (hashed names from a manifest)."""

import pytest
from django.core.management import call_command
from django.urls import reverse


@pytest.fixture
def collected(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    # Compressing every file is what takes time, and not what is tested here.
    settings.WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [
        "css", "js", "map", "svg", "woff", "woff2", "ttf", "eot", "otf", "txt", "html", "json",
        "md", "scss", "less", "png", "jpg", "gif", "ico", "xml",
    ]
    # (Changing STORAGES makes Django forget the storage it had built.)
    call_command("collectstatic", interactive=False, verbosity=0)


def test_the_admin_pages_render_with_hashed_static_files(admin_client, settings, collected):
    settings.DEBUG = False
    for name in ["admin:index", "admin:crm_customer_changelist", "admin:crm_opportunity_board"]:
        response = admin_client.get(reverse(name))
        assert response.status_code == 200, name
    html = admin_client.get(reverse("admin:index")).content.decode()
    # A real file got its hashed, cacheable name.
    assert "/static/crm/dashboard." in html and "/static/crm/dashboard.css" not in html


def test_pages_are_gzipped_for_browsers_that_accept_it(admin_client, make_customer):
    import gzip

    for i in range(30):
        make_customer(name=f"Pelanggan {i}")
    zipped = admin_client.get("/admin/crm/customer/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    html = gzip.decompress(zipped.content).decode()
    assert "Pelanggan 29" in html
    plain = admin_client.get("/admin/crm/customer/")
    assert not plain.has_header("Content-Encoding")
    assert len(zipped.content) * 4 < len(plain.content)
