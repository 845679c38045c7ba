"""Malformed input is refused plainly, never a server error, and writes nothing
(issue 14, point 6): a filter value in an export's address, a customer that is
no id, a board move's return address, a tampered import confirmation, and the
lookups a URL cannot carry."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from crm.models import Customer, Opportunity, Stage
from crm.roles import OWNER, SALES

BOARD = reverse("admin:crm_opportunity_board")
MOVE = reverse("admin:crm_opportunity_board_move")
IMPORT_URL = reverse("admin:crm_customer_import")
CONFIRM_URL = reverse("admin:crm_customer_process_import")
CSV = b"Nama,No HP\nDewi,0812-3456-7890\n"


def user_with_role(django_user_model, name, role):
    user = django_user_model.objects.create_user(name, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def owner(django_user_model):
    return user_with_role(django_user_model, "pemilik", OWNER)


@pytest.fixture
def browser(owner):
    """The owner's browser; a server error comes back as a 500, not an exception."""
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    return client


def page_text(response):
    return response.content.decode()


def assert_plain(response):
    """A page for a person: no traceback, no exception's name."""
    text = page_text(response)
    for leak in ("Traceback", "Error:", "Exception", "IncorrectLookupParameters",
                 "ValidationError", "IndexError", "ValueError"):
        assert leak not in text


# --- Export with a filter value that is not one ------------------------------


@pytest.mark.parametrize("model", ["customer", "opportunity"])
@pytest.mark.parametrize("query", ["created_at__gte=x", "owner__id__exact=abc"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_export_with_a_bad_filter_value_goes_back_to_the_list_and_says_why(
    browser, make_opportunity, model, query, method
):
    make_opportunity()
    url = reverse(f"admin:crm_{model}_export") + "?" + query
    response = getattr(browser, method)(url, {"format": "0", "resource": "0"}
                                        if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"] == reverse(f"admin:crm_{model}_changelist")
    listed = browser.get(response["Location"])
    assert "Tidak ada yang diekspor: filter daftar di alamat ini tidak valid." in page_text(
        listed)
    assert_plain(listed)


def test_an_export_with_good_filters_still_exports(browser, make_customer):
    make_customer(name="Dewi", city="Blitar")
    make_customer(name="Rina", city="Malang")
    response = browser.post(
        reverse("admin:crm_customer_export") + "?city__exact=Blitar",
        {"format": "0", "resource": "0", "customerresource_name": "on"},
    )
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").split() == ["Nama", "Dewi"]


# --- A customer that is no id ------------------------------------------------


@pytest.mark.parametrize("role", [OWNER, SALES])
def test_adding_an_opportunity_for_a_customer_that_is_no_id_shows_the_form_again(
    django_user_model, role
):
    client = Client(raise_request_exception=False)
    client.force_login(user_with_role(django_user_model, "orang", role))
    response = client.post(reverse("admin:crm_opportunity_add"), {
        "customer": "abc", "title": "Kripik", "amount": "1000", "stage": Stage.PROSPECT,
        "payments-TOTAL_FORMS": "0", "payments-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["customer"]
    assert "Masukkan pilihan yang valid" in page_text(response)
    assert_plain(response)
    assert not Opportunity.objects.exists()


# --- The board's return address ----------------------------------------------


@pytest.mark.parametrize("next_url", ["foo", "admin:index", "crm_opportunity_board", "?q=x",
                                      "", "//evil.example/", "https://evil.example/"])
def test_a_board_move_returns_to_the_board_unless_next_is_a_path_on_this_site(
    browser, make_opportunity, next_url
):
    opportunity = make_opportunity()
    response = browser.post(
        MOVE, {"opportunity": opportunity.pk, "stage": Stage.CONTACTED, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == BOARD
    assert Opportunity.objects.get().stage == Stage.CONTACTED


def test_a_board_move_still_returns_to_the_filtered_board(browser, make_opportunity):
    opportunity = make_opportunity()
    response = browser.post(
        MOVE, {"opportunity": opportunity.pk, "stage": Stage.CONTACTED, "next": BOARD + "?q=x"}
    )
    assert response["Location"] == BOARD + "?q=x"


# --- A tampered import confirmation ------------------------------------------


def preview(client):
    response = client.post(IMPORT_URL, {
        "import_file": SimpleUploadedFile("pelanggan.csv", CSV), "format": "0", "resource": "0",
    })
    return {**response.context["confirm_form"].initial, "confirm": "1"}


@pytest.mark.parametrize("tampered", [
    {"format": "1"}, {"format": "2"}, {"format": "99"}, {"format": "abc"}, {"format": "-1"},
    {"resource": "7"}, {"resource": "x"}, {"signature": "0" * 64},
    {"import_file_name": "another"},
])
def test_a_tampered_import_confirmation_imports_nothing_and_says_so(browser, tampered):
    response = browser.post(CONFIRM_URL, {**preview(browser), **tampered})
    assert response.status_code == 200
    assert "Konfirmasi ini berubah setelah pratinjau. Unggah berkas itu lagi." in page_text(
        response)
    assert_plain(response)
    assert not Customer.objects.exists()


def test_a_confirmation_without_its_signature_imports_nothing(browser):
    posted = preview(browser)
    del posted["signature"]
    response = browser.post(CONFIRM_URL, posted)
    assert response.status_code == 200
    assert not Customer.objects.exists()


def test_an_untouched_confirmation_still_imports(browser):
    response = browser.post(CONFIRM_URL, preview(browser))
    assert response.status_code == 302
    assert Customer.objects.get().name == "Dewi"


# --- Lookups and parameters no list can take ---------------------------------


@pytest.mark.parametrize("query", [
    "id__range=3", "name__range=abc", "created_at__range=2026-01-01,2026-12-31",
    "created_at__year=0", "created_at__year=99999999999999999999",
    "created_at__month=1", "id__in=1,99999999999999999999",
    "owner__id__in=-99999999999999999999", "owner=99999999999999999999",
    "owner__exact=-99999999999999999999", "opportunities__gte=99999999999999999999",
])
@pytest.mark.parametrize("view", ["changelist", "export"])
def test_lookups_that_fail_in_the_database_layer_are_a_400(browser, make_customer, query, view):
    make_customer()
    response = browser.get(reverse(f"admin:crm_customer_{view}") + "?" + query)
    assert response.status_code == 400


def test_lookups_with_numbers_that_fit_still_filter(browser, make_customer):
    dewi = make_customer(name="Dewi")
    make_customer(name="Rina")
    response = browser.get(reverse("admin:crm_customer_changelist") + f"?id__in={dewi.pk},-5")
    assert [str(c) for c in response.context["cl"].result_list] == ["Dewi"]
    huge = browser.get(reverse("admin:crm_customer_changelist") + "?id__exact=" + "9" * 25)
    assert huge.status_code == 200 and not huge.context["cl"].result_list


@pytest.mark.parametrize("model", ["customer", "messagetemplate", "user"])
def test_an_empty_to_field_is_no_field(browser, owner, make_customer, model):
    from crm.models import MessageTemplate

    obj = {"customer": make_customer, "user": lambda: owner,
           "messagetemplate": lambda: MessageTemplate.objects.create(name="a", text="b")}[model]()
    app = "auth" if model == "user" else "crm"
    for view in ("change", "delete"):
        url = reverse(f"admin:{app}_{model}_{view}", args=[obj.pk]) + "?_to_field="
        assert browser.get(url).status_code == 200


@pytest.mark.parametrize("selected", [[""], ["abc"], ["9" * 25], ["1", "x"]])
@pytest.mark.parametrize("model", ["customer", "messagetemplate", "group"])
def test_an_action_on_a_selection_that_is_no_id_changes_nothing_and_says_so(
    browser, make_customer, model, selected
):
    make_customer()
    app = "auth" if model == "group" else "crm"
    url = reverse(f"admin:{app}_{model}_changelist")
    response = browser.post(url, {
        "action": "delete_selected", "_selected_action": selected, "index": "0", "post": "yes",
    })
    assert response.status_code == 302
    listed = browser.get(response["Location"])
    assert "Pilih baris dulu untuk menjalankan aksi. Tidak ada yang diubah." in page_text(
        listed)
    assert Customer.objects.count() == 1
