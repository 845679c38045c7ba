"""The shell of every admin page: templates/admin/base.html, crm/shell_views.py,
crm/templatetags/crm_shell.py."""

import re

import pytest
from django.urls import reverse

from crm.roles import OWNER, SALES

pytestmark = pytest.mark.django_db


def bottom_bar(html):
    bar = re.search(r'<nav class="crm-bottom-bar".*?</nav>', html, re.S)
    return bar.group() if bar else ""


def test_the_bottom_bar_has_the_five_pages_and_marks_the_current_one(owner_client):
    html = owner_client.get(reverse("admin:crm_opportunity_board")).content.decode()
    bar = bottom_bar(html)
    hrefs = re.findall(r'<a href="([^"]+)"', bar)
    assert hrefs == [
        reverse("admin:index"),
        reverse("admin:crm_customer_changelist"),
        reverse("admin:crm_opportunity_changelist"),
        reverse("admin:crm_opportunity_board"),
        reverse("admin:crm_message_changelist"),
    ]
    # The board, not the opportunity list its address starts with.
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', bar) == [
        reverse("admin:crm_opportunity_board")
    ]


def test_the_bottom_bar_shows_only_what_the_user_may_see(client, make_staff):
    clerk = make_staff("clerk")
    client.force_login(clerk)
    bar = bottom_bar(client.get(reverse("admin:index")).content.decode())
    assert re.findall(r'<a href="([^"]+)"', bar) == [reverse("admin:index")]


def test_technical_pages_are_under_settings_for_the_owner_only(client, make_staff):
    client.force_login(make_staff("pemilik", OWNER))
    html = client.get(reverse("admin:index")).content.decode()
    settings_menu = re.search(r'crm-settings-menu.*?</ul>', html, re.S).group()
    for url in ("admin:auth_user_changelist", "admin:auth_group_changelist",
                "admin:axes_accessattempt_changelist"):
        assert reverse(url) in settings_menu
    client.force_login(make_staff("sari", SALES))
    html = client.get(reverse("admin:index")).content.decode()
    assert "crm-settings-menu" not in html
    assert reverse("admin:auth_group_changelist") not in html


def test_every_page_has_one_h1_a_skip_link_to_its_main_and_no_theme_credits(owner_client):
    for url in (reverse("admin:index"), reverse("admin:crm_customer_changelist"),
                reverse("admin:crm_opportunity_board"), reverse("admin:search")):
        html = owner_client.get(url).content.decode()
        assert len(re.findall(r"<h1[ >]", html)) == 1, url
        assert 'href="#content-start"' in html and 'id="content-start"' in html
        assert "Jazzmin" not in html and "AdminLTELogo" not in html
        # One search box in the header.
        assert html.count('role="search"') >= 1
        assert html.count(f'action="{reverse("admin:search")}"') == 1


def test_the_business_name_and_logo_are_a_setting(owner_client, settings):
    settings.JAZZMIN_SETTINGS = {
        **settings.JAZZMIN_SETTINGS, "site_brand": "Kripik Bu Sari",
        "site_logo": "crm/icons/icon-192.png",
    }
    html = owner_client.get(reverse("admin:index")).content.decode()
    assert "Kripik Bu Sari" in html
    assert "crm/icons/icon-192.png" in html


@pytest.fixture
def committed_roles():
    """Role groups in a test that commits (migrations made them; a
    transactional test's flush removed them)."""
    from django.contrib.auth.models import Group, Permission

    from crm.roles import sync_roles

    sync_roles(Group, Permission)


# InnoDB's FULLTEXT index sees only committed rows, so searching by name needs
# real commits on MySQL/MariaDB.
@pytest.mark.django_db(transaction=True)
def test_the_one_search_finds_customers_and_deals(
    committed_roles, owner_client, make_customer, make_opportunity
):
    heru = make_customer(name="Heru Santoso", business_name="Kripik Heru")
    make_opportunity(title="Seragam batik 40 stel", customer=heru)
    make_customer(name="Siti Rahayu")
    response = owner_client.get(reverse("admin:search"), {"q": "heru"})
    sections = {s["model"]: s for s in response.context["sections"]}
    assert [c.name for c in sections["customer"]["rows"]] == ["Heru Santoso"]
    assert [o.title for o in sections["opportunity"]["rows"]] == ["Seragam batik 40 stel"]
    assert sections["customer"]["list_url"].endswith("?q=heru")


@pytest.mark.django_db(transaction=True)
def test_the_one_search_finds_only_what_a_salesperson_may_see(
    committed_roles, client, make_staff, make_customer, make_opportunity
):
    sari = make_staff("sari", SALES)
    mine = make_customer(name="Heru Santoso", owner=sari)
    make_opportunity(title="Heru seragam", customer=mine, owner=sari)
    make_customer(name="Heru Wibowo")
    make_opportunity(title="Heru kripik")
    client.force_login(sari)
    response = client.get(reverse("admin:search"), {"q": "heru"})
    sections = {s["model"]: s for s in response.context["sections"]}
    assert [c.name for c in sections["customer"]["rows"]] == ["Heru Santoso"]
    assert [o.title for o in sections["opportunity"]["rows"]] == ["Heru seragam"]


def test_the_search_needs_a_login(client):
    response = client.get(reverse("admin:search"), {"q": "heru"})
    assert response.status_code == 302


def test_every_icon_the_app_names_is_in_the_light_icon_fonts():
    """phone-shell.css declares subsets of Font Awesome (11 KB instead of 294 KB)
    for the icons named in our templates, code and settings; an icon outside
    them would fetch the full font on first use (see phone-shell.css)."""
    from pathlib import Path

    from django.conf import settings
    from django.contrib.staticfiles import finders

    shell = Path(finders.find("crm/phone-shell.css")).read_text()
    ranges = re.findall(r"unicode-range:\s*([^;]+);", shell)
    assert len(ranges) >= 3 and len(set(ranges)) == 1
    covered = {code.strip().removeprefix("u+") for code in ranges[0].split(",")}
    icons_css = Path(finders.find("vendor/fontawesome-free/css/all.min.css")).read_text()
    codes = {}
    for rule in re.finditer(r'([^{}]+)\{content:"\\([0-9a-f]+)"\}', icons_css):
        for selector in rule.group(1).split(","):
            name = re.fullmatch(r"\.fa-([a-z0-9-]+):before", selector.strip())
            if name:
                codes[name.group(1)] = rule.group(2)
    base = Path(settings.BASE_DIR)
    sources = [*base.glob("templates/**/*.html"), *base.glob("crm/**/*.html"),
               *base.glob("crm/**/*.py"), *base.glob("crm/static/crm/*.js"),
               base / "project" / "settings.py"]
    missing = set()
    for path in sources:
        for name in re.findall(r"\bfa-([a-z0-9-]+)", path.read_text()):
            if name in codes and codes[name] not in covered:
                missing.add(f"fa-{name} ({path.relative_to(base)})")
    assert not missing, "Add these icons to the fonts' subset: " + ", ".join(sorted(missing))
