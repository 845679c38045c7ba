"""Roles over HTTP: what the owner (Pemilik), a salesperson (Sales) and a
viewer can list, open, change, delete, import, export and send."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm.models import Customer, Message, MessageBatch, Opportunity
from crm.roles import OWNER, ROLE_PERMISSIONS, SALES, VIEWER, visible_batches, visible_messages

CUSTOMERS = reverse("admin:crm_customer_changelist")
OPPORTUNITIES = reverse("admin:crm_opportunity_changelist")


def customer_url(customer, view="change"):
    return reverse(f"admin:crm_customer_{view}", args=[customer.pk])


def opportunity_url(opportunity, view="change"):
    return reverse(f"admin:crm_opportunity_{view}", args=[opportunity.pk])


@pytest.fixture
def people(django_user_model):
    def user(name, role):
        person = django_user_model.objects.create_user(name, is_staff=True, first_name=name)
        person.groups.add(Group.objects.get(name=role))
        return person

    return {
        "owner": user("pemilik", OWNER),
        "sari": user("sari", SALES),
        "budi": user("budi", SALES),
        "viewer": user("viewer", VIEWER),
    }


@pytest.fixture
def book(people, make_customer, make_opportunity):
    """Sari's customer and deal, Budi's, and Budi's customer Sari also sells to."""
    sari, budi = people["sari"], people["budi"]
    records = {
        "sari_customer": make_customer(name="Dewi", owner=sari, phone="0812-1111-0001"),
        "budi_customer": make_customer(name="Rina", owner=budi, phone="0812-1111-0002"),
        "shared_customer": make_customer(name="Tono", owner=budi, phone="0812-1111-0003"),
    }
    records["sari_deal"] = make_opportunity(
        customer=records["sari_customer"], owner=sari, title="Kripik Dewi")
    records["budi_deal"] = make_opportunity(
        customer=records["budi_customer"], owner=budi, title="Batik Rina")
    records["sari_deal_with_budi_customer"] = make_opportunity(
        customer=records["shared_customer"], owner=sari, title="Jahitan Tono")
    records["budi_deal_with_shared_customer"] = make_opportunity(
        customer=records["shared_customer"], owner=budi, title="Batik Tono")
    return records


def logged_in(client, user):
    client.force_login(user)
    return client


def listed(client, url, **params):
    return {str(row) for row in client.get(url, params).context["cl"].result_list}


def test_the_three_roles_exist_with_their_permissions(db):
    for role, permissions in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        assert group.permissions.count() == len(set(permissions))


# --- Sales -------------------------------------------------------------------


def test_a_salesperson_lists_only_their_own_records(client, people, book):
    logged_in(client, people["sari"])
    assert listed(client, CUSTOMERS) == {"Dewi", "Tono"}
    assert listed(client, OPPORTUNITIES) == {"Kripik Dewi", "Jahitan Tono"}


def test_a_salesperson_filters_their_customers_by_any_town(client, people, book):
    # The towns offered are every customer's (read through the city index);
    # the customers listed are still only Sari's.
    Customer.objects.filter(name="Rina").update(city="Wlingi")
    Customer.objects.filter(name="Dewi").update(city="Blitar")
    logged_in(client, people["sari"])
    response = client.get(CUSTOMERS)
    (towns,) = [f for f in response.context["cl"].filter_specs if f.title == "kota"]
    assert [town for town in towns.lookup_choices if town] == ["Blitar", "Wlingi"]
    assert listed(client, CUSTOMERS, city="Wlingi") == set()
    assert listed(client, CUSTOMERS, city="Blitar") == {"Dewi"}


def test_another_salesperson_s_record_is_refused_by_its_direct_url(client, people, book):
    logged_in(client, people["sari"])
    assert client.get(customer_url(book["budi_customer"])).status_code == 403
    assert client.get(opportunity_url(book["budi_deal"])).status_code == 403
    response = client.post(opportunity_url(book["budi_deal"]), {"title": "mine now"})
    assert response.status_code == 403
    assert Opportunity.objects.get(pk=book["budi_deal"].pk).title == "Batik Rina"
    # Their own open normally.
    assert client.get(opportunity_url(book["sari_deal"])).status_code == 200


def test_on_a_shared_customer_a_salesperson_sees_only_their_deals(client, people, book):
    logged_in(client, people["sari"])
    page = client.get(customer_url(book["shared_customer"]))
    inline = page.context["inline_admin_formsets"][0].formset
    assert [form.instance.title for form in inline.forms if form.instance.pk] == ["Jahitan Tono"]


def test_a_salesperson_cannot_delete_import_or_export(client, people, book):
    logged_in(client, people["sari"])
    assert client.get(customer_url(book["sari_customer"], "delete")).status_code == 403
    assert client.get(reverse("admin:crm_customer_import")).status_code == 403
    assert client.get(reverse("admin:crm_customer_export")).status_code == 403
    assert client.get(reverse("admin:crm_opportunity_export")).status_code == 403
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


def test_what_a_salesperson_creates_is_theirs(client, people):
    logged_in(client, people["sari"])
    response = client.post(reverse("admin:crm_customer_add"), {
        "name": "Pak Darto", "phone": "0857-1111-2222", "source": "walk_in",
        "owner": people["budi"].pk,  # read-only for Sales: ignored
        "opportunities-TOTAL_FORMS": "0", "opportunities-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Customer.objects.get(name="Pak Darto").owner == people["sari"]


def test_a_salesperson_cannot_file_a_deal_under_someone_else_s_customer(client, people, book):
    logged_in(client, people["sari"])
    response = client.post(reverse("admin:crm_opportunity_add"), {
        "customer": book["budi_customer"].pk, "title": "Batik", "amount": "100000",
        "stage": "prospect", "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    autocomplete = client.get(reverse("admin:autocomplete"), {
        "app_label": "crm", "model_name": "opportunity", "field_name": "customer", "term": "",
    }).json()
    assert {row["text"] for row in autocomplete["results"]} == {"Dewi", "Tono"}


def test_a_salesperson_s_dashboard_and_board_show_only_their_deals(client, people, book):
    logged_in(client, people["sari"])
    dashboard = client.get(reverse("admin:index")).context["dashboard"]
    assert dashboard.totals.created == 2
    board = client.get(reverse("admin:crm_opportunity_board")).context["columns"]
    assert {card.opportunity.title for column in board for card in column.cards} == {
        "Kripik Dewi", "Jahitan Tono",
    }


def test_a_salesperson_sends_whatsapp_only_to_their_customers(
    client, people, book, django_capture_on_commit_callbacks
):
    logged_in(client, people["sari"])
    url = reverse("admin:crm_customer_send_whatsapp", args=[book["budi_customer"].pk])
    assert client.get(url).status_code == 403
    ids = [book["sari_customer"].pk, book["budi_customer"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CUSTOMERS, {"action": "send_whatsapp", "_selected_action": ids,
                                "text": "Halo {nama}", "confirm": "1"})
    assert list(Message.objects.values_list("customer__name", flat=True)) == ["Dewi"]
    # The message log shows their own messages only.
    assert listed(client, reverse("admin:crm_message_changelist")) == {"6281211110001: Halo Dewi"}


# --- Viewer and owner --------------------------------------------------------


def test_a_viewer_reads_everything_and_changes_nothing(client, people, book):
    logged_in(client, people["viewer"])
    assert listed(client, OPPORTUNITIES) == {
        "Kripik Dewi", "Batik Rina", "Jahitan Tono", "Batik Tono",
    }
    page = client.get(opportunity_url(book["budi_deal"]))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    client.post(opportunity_url(book["budi_deal"]), {"title": "changed"})
    assert Opportunity.objects.get(pk=book["budi_deal"].pk).title == "Batik Rina"
    assert client.get(opportunity_url(book["budi_deal"], "delete")).status_code == 403
    assert client.get(reverse("admin:crm_customer_add")).status_code == 403
    assert client.get(reverse("admin:crm_customer_export")).status_code == 403
    url = reverse("admin:crm_customer_send_whatsapp", args=[book["budi_customer"].pk])
    assert client.get(url).status_code == 403


def test_the_owner_does_everything(client, people, book):
    logged_in(client, people["owner"])
    assert listed(client, CUSTOMERS) == {"Dewi", "Rina", "Tono"}
    assert client.get(reverse("admin:crm_customer_import")).status_code == 200
    assert client.get(reverse("admin:crm_customer_export")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    # Unlocking a locked-out login is the owner's, too.
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    client.post(opportunity_url(book["budi_deal"], "delete"), {"post": "yes"})
    assert not Opportunity.objects.filter(pk=book["budi_deal"].pk).exists()
    dashboard = client.get(reverse("admin:index")).context["dashboard"]
    assert dashboard.totals.created == 3


# --- WhatsApp messages and sends, without a request --------------------------


def test_a_salesperson_sees_the_messages_to_the_customers_they_see(people, book):
    sent = {
        name: Message.objects.create(customer=book[name], phone="6281211110000", text=name)
        for name in ["sari_customer", "budi_customer", "shared_customer"]
    }
    assert set(visible_messages(people["sari"], Message.objects.all())) == {
        sent["sari_customer"], sent["shared_customer"],
    }
    assert set(visible_messages(people["viewer"], Message.objects.all())) == set(sent.values())


def test_a_salesperson_sees_only_the_sends_they_made(people):
    sari_batch = MessageBatch.objects.create(created_by=people["sari"], text="Halo")
    budi_batch = MessageBatch.objects.create(created_by=people["budi"], text="Halo")
    assert list(visible_batches(people["sari"], MessageBatch.objects.all())) == [sari_batch]
    assert set(visible_batches(people["owner"], MessageBatch.objects.all())) == {
        sari_batch, budi_batch,
    }
