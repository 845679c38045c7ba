import datetime

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from crm.largelists import paginator as paginators
from crm.largelists.paginator import LargeTablePaginator
from crm.models import Customer


def test_the_count_is_exact_below_the_cap(make_customer):
    for _ in range(3):
        make_customer()
    paginator = LargeTablePaginator(Customer.objects.all(), 2)
    assert (paginator.count, paginator.count_is_exact, paginator.num_pages) == (3, True, 2)


def test_the_count_stops_at_the_cap_and_says_so(make_customer, monkeypatch):
    monkeypatch.setattr(paginators, "COUNT_CAP", 2)
    for _ in range(5):
        make_customer()
    paginator = LargeTablePaginator(Customer.objects.all(), 1)
    assert (paginator.count, paginator.count_is_exact) == (2, False)


def test_the_list_says_more_than_when_the_count_is_capped(
    admin_client, make_customer, monkeypatch
):
    monkeypatch.setattr(paginators, "COUNT_CAP", 2)
    for _ in range(3):
        make_customer()
    html = admin_client.get("/admin/crm/customer/").content.decode()
    assert "lebih dari 2" in html


def test_a_salespersons_lists_count_to_a_lower_cap(
    client, make_staff, make_customer, make_opportunity, monkeypatch
):
    # Her rows are each checked for being hers, so her counts stop sooner;
    # the owner's lists keep the full cap.
    from crm.roles import OWNER, SALES

    monkeypatch.setattr(paginators, "COUNT_CAP", 4)
    monkeypatch.setattr(paginators, "OWN_RECORDS_COUNT_CAP", 2)
    sari = make_staff("sari", SALES)
    for _ in range(3):
        make_opportunity(owner=sari)
    client.force_login(sari)
    for url in ("/admin/crm/customer/", "/admin/crm/opportunity/"):
        cl = client.get(url).context["cl"]
        assert (cl.result_count, cl.paginator.count_is_exact) == (2, False), url
        assert "lebih dari 2" in client.get(url).content.decode()
    client.force_login(make_staff("pemilik", OWNER))
    cl = client.get("/admin/crm/opportunity/").context["cl"]
    assert (cl.result_count, cl.paginator.count_is_exact) == (3, True)


def test_the_users_list_is_untouched(admin_client):
    # Only the CRM's own lists are capped; auth's list keeps Django's paginator.
    response = admin_client.get("/admin/auth/user/")
    assert response.context["cl"].result_count == User.objects.count()


def test_the_row_checkbox_is_the_stock_markup(admin_client, make_customer):
    # Our action_checkbox skips the form-widget rendering for speed; the
    # markup must stay what the admin's actions JavaScript selects on.
    from django.contrib import admin as django_admin

    customer = make_customer(name="Bu Sri <Kripik>")
    ours = django_admin.site.get_model_admin(Customer).action_checkbox(customer)
    stock = django_admin.ModelAdmin.action_checkbox(
        django_admin.site.get_model_admin(Customer), customer
    )
    assert ours == stock
    html = admin_client.get("/admin/crm/customer/").content.decode()
    assert ours in html


def _rows(html):
    if "<tbody>" not in html:  # an empty list has no table
        return []
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row.split(">", 1)[1].strip() for row in body.split("</tr>")[:-1]]


@pytest.mark.parametrize("url", [
    "/admin/crm/customer/",
    "/admin/crm/customer/?q=Siti&source__exact=instagram",
    "/admin/crm/opportunity/",
    "/admin/crm/opportunity/?stage__exact=won&o=-3",
    "/admin/crm/opportunity/?_popup=1&_to_field=id",
    "/admin/auth/user/",
    "/admin/crm/importrecord/",
    "/admin/crm/message/",
])
def test_the_rows_are_djangos_own_markup(admin_client, make_opportunity, make_customer, url):
    # result_rows writes each row in one go; the admin's items_for_result is
    # what it must equal, cell for cell (links with the list's filters, classes,
    # empty values, choices, dates, related objects, popups).
    from django.contrib.admin.templatetags import admin_list

    from crm.largelists.rows import result_rows
    from crm.models import Stage

    sri = make_customer(name="Bu Sri <Kripik> & \"Anak\"", business_name="", city="Malang",
                        source="instagram", email="sri@contoh.id")
    make_customer(name="Siti", business_name="   ", source="instagram")
    make_opportunity(customer=sri, title="Kripik <b>100</b>", stage=Stage.WON,
                     next_step="Kirim", next_step_date=timezone.localdate())
    make_opportunity(stage=Stage.LOST, lost_reason="price", expected_close_date=None)
    make_opportunity(next_step="Telepon",
                     next_step_date=timezone.localdate() - datetime.timedelta(days=3))
    response = admin_client.get(url)
    assert response.status_code == 200
    cl = response.context["cl"]
    ours = ["".join(row) for row in result_rows(cl)]
    djangos = ["".join(str(cell) for cell in row) for row in admin_list.results(cl)]
    assert ours == djangos
    html = response.content.decode()
    assert _rows(html) == ours


def test_the_rows_are_djangos_when_a_related_row_is_missing(admin_client, make_opportunity):
    from django.contrib.admin.templatetags import admin_list

    from crm.largelists.rows import result_rows

    make_opportunity(owner=None)
    cl = admin_client.get("/admin/crm/opportunity/").context["cl"]
    assert ["".join(row) for row in result_rows(cl)] == [
        "".join(str(cell) for cell in row) for row in admin_list.results(cl)
    ]


def test_a_list_page_loads_each_relation_in_one_query(
    admin_client, make_opportunity, make_customer, django_assert_max_num_queries
):
    for _ in range(5):
        make_opportunity(customer=make_customer())
    admin_client.get("/admin/crm/opportunity/")  # sessions, permissions cached
    with django_assert_max_num_queries(8):
        html = admin_client.get("/admin/crm/opportunity/").content.decode()
    assert html.count('class="action-select"') == 5


def test_load_related_sets_what_prefetch_related_would(make_opportunity, make_customer):
    from crm.largelists.changelist import load_related
    from crm.models import Opportunity

    make_opportunity(customer=make_customer(name="Ani"))
    make_opportunity(customer=make_customer(name="Budi"))
    expected = {o.pk: (o.customer.name, o.owner) for o in
                Opportunity.objects.prefetch_related("customer", "owner")}
    rows = list(Opportunity.objects.all())
    load_related(rows, ["customer", "owner"])
    assert {o.pk: (o.customer.name, o.owner) for o in rows} == expected


def test_load_related_leaves_other_lookups_to_prefetch_related(
    make_opportunity, make_customer, django_assert_num_queries
):
    from django.db.models import Prefetch

    from crm.largelists.changelist import load_related
    from crm.models import Customer, Opportunity

    make_opportunity(customer=make_customer(name="Ani"))
    rows = list(Opportunity.objects.all())
    load_related(rows, [Prefetch("customer", queryset=Customer.objects.only("name")),
                        "customer__owner"])
    with django_assert_num_queries(0):
        assert [(o.customer.name, o.customer.owner) for o in rows] == [("Ani", None)]
