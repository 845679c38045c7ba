"""The WhatsApp send page (crm/admin/whatsapp_send.py): every template's
preview comes with the page and its own Send token, so a template is sent
with one more tap; a token that is not the posted text's sends nothing."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from crm.admin import whatsapp_send
from crm.models import Message, MessageBatch, MessageTemplate

CUSTOMERS_URL = reverse("admin:crm_customer_changelist")
OPPORTUNITIES_URL = reverse("admin:crm_opportunity_changelist")


@pytest.fixture
def shop(make_customer):
    return [make_customer(name="Dewi", city="Blitar"), make_customer(name="Sari")]


@pytest.fixture
def promo():
    return MessageTemplate.objects.create(name="Promo", text="Halo {nama} dari {kota}!")


def opened(client, shop):
    """The page a list's "Kirim WhatsApp" opens, as the list posts it."""
    return client.post(CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "csrfmiddlewaretoken": "masked-token-of-this-list",
    })


def test_the_page_brings_each_templates_preview_and_send_token(admin_client, shop, promo):
    MessageTemplate.objects.create(name="Tagihan", text="Tagihan {judul}")  # deals only
    page = opened(admin_client, shop)
    [choice] = page.context["template_choices"]
    assert choice["template"] == promo
    texts = [text for _customer, _opportunity, text in choice["previews"]]
    assert texts == ["Halo Dewi dari Blitar!", "Halo Sari dari !"]
    content = page.content.decode()
    assert "Halo Dewi dari Blitar!" in content and f'data-token="{choice["token"]}"' in content


def test_a_picked_template_is_sent_with_its_token(admin_client, shop, promo):
    [choice] = opened(admin_client, shop).context["template_choices"]
    response = admin_client.post(CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "template": promo.pk, "text": promo.text, "request_token": choice["token"],
        "confirm": "1",
    }, follow=True)
    assert response.redirect_chain
    batch = MessageBatch.objects.get()
    assert batch.template == promo and batch.request_token == choice["token"]
    assert sorted(Message.objects.values_list("text", flat=True)) == [
        "Halo Dewi dari Blitar!", "Halo Sari dari !"]


def test_a_text_that_is_not_the_previewed_one_sends_nothing(admin_client, shop, promo):
    [choice] = opened(admin_client, shop).context["template_choices"]
    response = admin_client.post(CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "template": promo.pk, "text": "Diskon 90% untuk {nama}", "request_token": choice["token"],
        "confirm": "1",
    })
    assert response.status_code == 200 and not Message.objects.exists()
    assert response.context["changed_after_preview"]
    # The preview of the text posted, with its own token: Send sends that.
    assert [p.text for p in response.context["plan"].previews][0] == "Diskon 90% untuk Dewi"
    token = response.context["form"]["request_token"].value()
    assert whatsapp_send._token_matches(token, "Diskon 90% untuk {nama}")


def test_a_page_token_that_was_never_previewed_sends_nothing(admin_client, shop):
    page_token = opened(admin_client, shop).context["form"]["request_token"].value()
    admin_client.post(CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "text": "Halo {nama}", "request_token": page_token, "confirm": "1",
    })
    assert not Message.objects.exists()


def test_the_page_posted_again_gives_the_same_tokens(admin_client, shop, promo):
    """Back after sending reloads the page by posting the list again: the
    same template's Send is then the same send, queued once."""
    first = opened(admin_client, shop).context["template_choices"][0]["token"]
    again = opened(admin_client, shop).context["template_choices"][0]["token"]
    assert first == again
    other_list = admin_client.post(CUSTOMERS_URL, {
        "action": "send_whatsapp", "_selected_action": [c.pk for c in shop],
        "csrfmiddlewaretoken": "masked-token-of-another-list",
    }).context["template_choices"][0]["token"]
    assert other_list != first


def test_tokens_are_signed_for_their_text():
    token = whatsapp_send._preview_token("page", "Halo {nama}")
    assert token.startswith("page.") and len(token) <= 64
    assert whatsapp_send._token_matches(token, "Halo {nama}")
    assert not whatsapp_send._token_matches(token, "Halo {nama}!")
    assert not whatsapp_send._token_matches("page", "Halo {nama}")
    # A new preview of the same page keeps the page's part.
    assert whatsapp_send._preview_token(token, "Lain").startswith("page.")


def test_a_page_without_a_list_form_gets_a_random_token():
    request = RequestFactory().get("/")
    assert whatsapp_send._page_token(request) != whatsapp_send._page_token(request)
