"""The change lists' search bar (templates/admin/search_form.html,
crm/templatetags/crm_lists.py) and action bar (templates/admin/change_list.html)."""

import re

from django.urls import reverse

from crm.models import Customer

CUSTOMERS_URL = reverse("admin:crm_customer_changelist")


def chips(html):
    return re.findall(r'<a class="crm-chip" href="([^"]*)"[^>]*><span>([^<]*)</span>', html)


def test_each_filter_on_is_a_chip_whose_link_takes_only_it_off(admin_client, make_customer):
    make_customer(name="Dewi", city="Blitar", source=Customer.Source.INSTAGRAM)
    html = admin_client.get(CUSTOMERS_URL, {
        "city": "Blitar", "source__exact": "instagram", "q": "Dewi"}).content.decode()
    found = {text: href.replace("&amp;", "&") for href, text in chips(html)}
    assert set(found) == {"“Dewi”", "Kota: Blitar", "Sumber: Instagram"}
    assert "q=" not in found["“Dewi”"] and "city=Blitar" in found["“Dewi”"]
    without_city = found["Kota: Blitar"]
    assert "city" not in without_city and "source__exact=instagram" in without_city
    assert "q=Dewi" in found["Sumber: Instagram"] and "source" not in found["Sumber: Instagram"]
    assert re.search(r'crm-filter-count"[^>]*>2</span>', html)  # Saring 2: the search is no filter


def test_no_filter_on_no_chip_no_count(admin_client):
    html = admin_client.get(CUSTOMERS_URL).content.decode()
    assert "crm-filters" in html and "crm-filter-count" not in html and not chips(html)


def test_a_search_keeps_the_filters_on(admin_client):
    html = admin_client.get(CUSTOMERS_URL, {"city": "Blitar"}).content.decode()
    start = html.index('id="changelist-search"')
    form = html[start:html.index("</form>", start)]
    assert '<input type="hidden" name="city" value="Blitar">' in form


def test_the_action_bar_has_a_verb_per_action(admin_client, make_customer):
    make_customer(name="Dewi")
    html = admin_client.get(CUSTOMERS_URL).content.decode()
    bar = html[html.index('class="crm-action-bar"'):]
    assert 'data-action="send_whatsapp"' in bar and "Kirim WhatsApp (" in bar
    assert 'data-action="delete_selected"' in bar and "Hapus (" in bar


def test_a_customer_has_tap_to_chat_and_tap_to_call(admin_client, make_customer):
    make_customer(name="Dewi", phone="0812-3456-7890")
    html = admin_client.get(CUSTOMERS_URL).content.decode()
    assert 'href="https://wa.me/6281234567890"' in html
    assert 'href="tel:+6281234567890"' in html
