from django.contrib.staticfiles import finders
from django.urls import reverse


def test_the_manifest_lets_the_owner_add_the_crm_to_the_home_screen(client, settings):
    settings.BUSINESS_NAME = "Kripik Bu Sari"
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["name"] == "Kripik Bu Sari"
    assert manifest["start_url"] == reverse("admin:index") == "/admin/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for size, icon in sizes.items():
        assert icon["type"] == "image/png"
        path = finders.find(icon["src"].removeprefix(settings.STATIC_URL).lstrip("/"))
        assert path, icon["src"]
        with open(path, "rb") as png:
            header = png.read(24)
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(header[16:20], "big")
        assert f"{width}x{width}" == size


def test_every_admin_page_links_the_manifest_and_a_theme_colour(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#' in html
