import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Customer, Opportunity, Stage, StageChange

CUSTOMER_LIST = reverse("admin:crm_customer_changelist")
OPPORTUNITY_LIST = reverse("admin:crm_opportunity_changelist")


def page_queries(captured, table):
    """The changelist's page query: the one SELECT that LIMITs rows of ``table``."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and f"FROM {table}" in q["sql"].replace('"', "")
        .replace("`", "") and "LIMIT" in q["sql"]
    ]


def add_customer(client, **fields):
    """Submit the admin's add-customer form with ``fields``."""
    data = {
        "source": "whatsapp",
        "opportunities-TOTAL_FORMS": "0",
        "opportunities-INITIAL_FORMS": "0",
        **fields,
    }
    return client.post(reverse("admin:crm_customer_add"), data)


def change_opportunity(client, opportunity, **fields):
    """Submit the admin's change form of ``opportunity`` with ``fields`` changed."""
    data = {
        "customer": opportunity.customer_id,
        "title": opportunity.title,
        "amount": str(opportunity.amount),
        "stage": opportunity.stage,
        "fulfilment_status": opportunity.fulfilment_status,
        "stage_changes-TOTAL_FORMS": "0",
        "stage_changes-INITIAL_FORMS": "0",
        "payments-TOTAL_FORMS": "0",
        "payments-INITIAL_FORMS": "0",
        **fields,
    }
    return client.post(reverse("admin:crm_opportunity_change", args=[opportunity.pk]), data)


@pytest.fixture
def pipeline(make_customer, make_opportunity, django_user_model):
    sales = django_user_model.objects.create_user("sari")
    customers = [make_customer(name=f"Pelanggan {i}", city="Blitar") for i in range(3)]
    for i, stage in enumerate(Stage.values):
        make_opportunity(
            customer=customers[i % 3],
            title=f"Batik {i}",
            stage=stage,
            lost_reason="Harga" if stage == Stage.LOST else "",
            owner=sales,
        )
    return customers


@pytest.mark.parametrize("url", [CUSTOMER_LIST, OPPORTUNITY_LIST, reverse("admin:index")])
def test_anonymous_users_are_sent_to_the_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_every_page_of_both_models_renders_for_a_superuser(admin_client, pipeline):
    customer = pipeline[0]
    opportunity = customer.opportunities.first()
    urls = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["crm"]),
        CUSTOMER_LIST,
        reverse("admin:crm_customer_add"),
        reverse("admin:crm_customer_change", args=[customer.pk]),
        reverse("admin:crm_customer_history", args=[customer.pk]),
        reverse("admin:crm_customer_delete", args=[customer.pk]),
        OPPORTUNITY_LIST,
        reverse("admin:crm_opportunity_add"),
        reverse("admin:crm_opportunity_change", args=[opportunity.pk]),
        reverse("admin:crm_opportunity_history", args=[opportunity.pk]),
        reverse("admin:crm_opportunity_delete", args=[opportunity.pk]),
        reverse("admin:autocomplete") + "?app_label=crm&model_name=opportunity"
        "&field_name=customer&term=Pelanggan",
    ]
    for url in urls:
        assert admin_client.get(url).status_code == 200, url


def test_the_customer_list_shows_a_readable_number_linking_to_a_whatsapp_chat(
    admin_client, make_customer
):
    make_customer(name="Dewi", phone="0812-3456-7890")
    html = admin_client.get(CUSTOMER_LIST).content.decode()
    assert 'href="https://wa.me/6281234567890"' in html
    assert "+62 812-3456-7890" in html


def test_the_opportunity_list_shows_rupiah_and_a_stage_badge(admin_client, make_opportunity):
    make_opportunity(amount=1_500_000, stage=Stage.NEGOTIATION)
    html = admin_client.get(OPPORTUNITY_LIST).content.decode()
    assert "Rp 1.500.000" in html
    assert 'class="badge badge-warning bg-warning">Negosiasi</span>' in html


@pytest.mark.parametrize("url", [CUSTOMER_LIST, OPPORTUNITY_LIST])
def test_the_changelist_runs_the_same_number_of_queries_for_many_rows(
    admin_client, make_opportunity, django_user_model, url
):
    owners = [django_user_model.objects.create_user(f"sales{i}") for i in range(3)]
    make_opportunity(owner=owners[0])
    admin_client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for i in range(30):
        make_opportunity(owner=owners[i % 3], title=f"Kripik {i}")
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)
    assert len(many) <= 8


def test_a_customer_page_runs_the_same_number_of_queries_for_many_deals(
    admin_client, make_customer, make_opportunity
):
    customer = make_customer()
    make_opportunity(customer=customer)
    url = f"/admin/crm/customer/{customer.pk}/change/"
    admin_client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    for i in range(10):
        make_opportunity(customer=customer, title=f"Batik {i}")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)
    assert response.content.decode().count('name="opportunities-') > 10 * 6
    assert len(many) == len(few)


PAGES_TO_CHECK_FOR_JOINS = [
    (CUSTOMER_LIST, "crm_customer", query) for query in ["", "?q=0812", "?q=Pelanggan"]
] + [
    (OPPORTUNITY_LIST, "crm_opportunity", query)
    for query in ["", "?stage__exact=won", "?status__exact=open", "?q=0812", "?q=Pelanggan"]
]


@pytest.mark.parametrize("url, table, query", PAGES_TO_CHECK_FOR_JOINS)
def test_the_page_query_joins_no_other_table(admin_client, pipeline, url, table, query):
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get(url + query).status_code == 200
    pages = page_queries(captured, table)
    assert pages, "no page query found"
    for sql in pages:
        assert "JOIN" not in sql.upper(), sql


def test_the_opportunity_list_filters_by_stage_and_status(admin_client, pipeline):
    won = admin_client.get(OPPORTUNITY_LIST + "?stage__exact=won").context["cl"].result_list
    assert [o.stage for o in won] == ["won"]
    open_ = admin_client.get(OPPORTUNITY_LIST + "?status__exact=open").context["cl"].result_list
    assert sorted(o.stage for o in open_) == sorted(
        ["prospect", "contacted", "proposal", "negotiation"]
    )
    html = admin_client.get(OPPORTUNITY_LIST).content.decode()
    assert 'data-name="stage__exact" value="won"' in html
    assert 'data-name="status__exact" value="lost"' in html


@pytest.mark.parametrize("typed", ["0812 3456", "812345", "+62 812-3456", "6281234567890"])
def test_customers_are_found_by_a_number_typed_in_any_local_format(
    admin_client, make_customer, typed
):
    make_customer(name="Dewi", phone="0812-3456-7890")
    make_customer(name="Rina", phone="0813-1111-2222")
    found = admin_client.get(CUSTOMER_LIST, {"q": typed}).context["cl"].result_list
    assert [c.name for c in found] == ["Dewi"]


# InnoDB's FULLTEXT index sees only committed rows, so searching by name needs
# real commits on MySQL/MariaDB.
@pytest.mark.django_db(transaction=True)
def test_customers_are_found_by_name_business_and_email(admin_client, make_customer):
    make_customer(name="Dewi Lestari", business_name="Kripik Sumber Rejeki")
    make_customer(name="Rina", business_name="Batik Mekar", email="rina@contoh.id")
    make_customer(name="Bu Sum", business_name="Sambal Pecel")

    def names(term):
        result = admin_client.get(CUSTOMER_LIST, {"q": term}).context["cl"].result_list
        return sorted(c.name for c in result)

    assert names("dewi") == ["Dewi Lestari"]
    assert names("kripik") == ["Dewi Lestari"]
    assert names("batik mekar") == ["Rina"]
    assert names("rina@contoh.id") == ["Rina"]
    assert names("tidakada") == []
    # Words too short for a full-text index still find the customer.
    assert names("Bu") == ["Bu Sum"]
    assert names("bu sum") == ["Bu Sum"]
    assert names("bu pecel") == ["Bu Sum"]


@pytest.mark.django_db(transaction=True)
def test_opportunities_are_found_by_customer_phone_name_or_title(
    admin_client, make_customer, make_opportunity
):
    dewi = make_customer(name="Dewi Lestari", phone="0812-3456-7890")
    make_opportunity(customer=dewi, title="Seragam batik kantor")
    make_opportunity(title="Kripik pisang 5 kg")

    def titles(term):
        result = admin_client.get(OPPORTUNITY_LIST, {"q": term}).context["cl"].result_list
        return sorted(o.title for o in result)

    assert titles("0812 3456") == ["Seragam batik kantor"]
    assert titles("dewi") == ["Seragam batik kantor"]
    assert titles("pisang") == ["Kripik pisang 5 kg"]


def test_adding_a_customer_through_the_form_normalises_the_phone(admin_client, admin_user):
    response = add_customer(
        admin_client, name="Bu Sum", phone="0812-3456-7890", owner=admin_user.pk
    )
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    assert Customer.objects.get().phone == "6281234567890"


def test_the_customer_form_reports_a_duplicate_number_in_another_format(
    admin_client, make_customer
):
    make_customer(name="Dewi", phone="0812-3456-7890")
    response = add_customer(admin_client, name="Dewi lagi", phone="+62 812 3456 7890")
    assert response.status_code == 200
    assert "Pelanggan dengan nomor WhatsApp ini sudah ada." in response.content.decode()
    assert Customer.objects.count() == 1


def test_the_customer_form_reports_an_invalid_number(admin_client):
    response = add_customer(admin_client, name="Dewi", phone="081-234")
    assert "Nomor HP tidak valid: 081-234" in response.content.decode()
    assert not Customer.objects.exists()


def test_the_opportunity_form_records_the_stage_change_by_the_user(
    admin_client, admin_user, make_opportunity
):
    opportunity = make_opportunity(stage=Stage.NEGOTIATION)
    response = change_opportunity(admin_client, opportunity, stage="won")
    assert response.status_code == 302
    change = StageChange.objects.filter(opportunity=opportunity).last()
    assert (change.to_stage, change.changed_by) == ("won", admin_user)
    assert Opportunity.objects.get(pk=opportunity.pk).closed_at is not None


def test_the_opportunity_form_asks_for_a_lost_reason(admin_client, make_opportunity):
    opportunity = make_opportunity()
    response = change_opportunity(admin_client, opportunity, stage="lost", lost_reason="")
    assert response.status_code == 200
    assert "Tuliskan alasan peluang ini batal." in response.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).stage == Stage.PROSPECT


def test_deleting_a_customer_with_opportunities_is_refused_in_the_admin(
    admin_client, make_opportunity
):
    customer = make_opportunity().customer
    url = reverse("admin:crm_customer_delete", args=[customer.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert "Tidak dapat menghapus" in response.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_new_record_starts_owned_by_the_user(admin_client, admin_user):
    form = admin_client.get(reverse("admin:crm_opportunity_add")).context["adminform"].form
    assert form.initial["owner"] == admin_user.pk


def test_logging_in_from_the_login_page_lands_on_the_admin(client, admin_user):
    admin_user.set_password("rahasia-123")
    admin_user.save()
    response = client.post(
        reverse("admin:login"), {"username": admin_user.username, "password": "rahasia-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_an_opportunity_added_on_the_customer_page_records_who_added_it(
    admin_client, admin_user, make_customer
):
    customer = make_customer(name="Dewi")
    response = admin_client.post(
        reverse("admin:crm_customer_change", args=[customer.pk]),
        {
            "name": "Dewi",
            "phone": customer.phone,
            "source": "whatsapp",
            "opportunities-TOTAL_FORMS": "1",
            "opportunities-INITIAL_FORMS": "0",
            "opportunities-0-title": "Batik tulis 3 lembar",
            "opportunities-0-amount": "1050000",
            "opportunities-0-stage": "proposal",
        },
    )
    assert response.status_code == 302
    opportunity = customer.opportunities.get()
    change = opportunity.stage_changes.get()
    assert (change.to_stage, change.changed_by) == ("proposal", admin_user)


@pytest.mark.django_db(transaction=True)
def test_opportunities_are_found_by_their_customers_new_name_after_a_rename(
    admin_client, make_customer, make_opportunity
):
    customer = make_customer(name="Dewi Lestari", business_name="Kripik Dewi")
    make_opportunity(customer=customer, title="Seragam batik kantor")
    customer.name = "Dewi Anggraini"
    customer.business_name = "Batik Anggrek"
    customer.save()

    def titles(term):
        result = admin_client.get(OPPORTUNITY_LIST, {"q": term}).context["cl"].result_list
        return [o.title for o in result]

    assert titles("anggraini") == ["Seragam batik kantor"]
    assert titles("anggrek") == ["Seragam batik kantor"]
    assert titles("lestari") == []
