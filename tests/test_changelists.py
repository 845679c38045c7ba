from django.contrib.auth.models import User

from crm import changelists
from crm.changelists import LargeTablePaginator
from crm.models import Customer


def test_the_count_is_exact_below_the_cap(make_customer):
    for _ in range(3):
        make_customer()
    paginator = LargeTablePaginator(Customer.objects.all(), 2)
    assert (paginator.count, paginator.count_is_exact, paginator.num_pages) == (3, True, 2)


def test_the_count_stops_at_the_cap_and_says_so(make_customer, monkeypatch):
    monkeypatch.setattr(changelists, "COUNT_CAP", 2)
    for _ in range(5):
        make_customer()
    paginator = LargeTablePaginator(Customer.objects.all(), 1)
    assert (paginator.count, paginator.count_is_exact) == (2, False)


def test_the_list_says_more_than_when_the_count_is_capped(
    admin_client, make_customer, monkeypatch
):
    monkeypatch.setattr(changelists, "COUNT_CAP", 2)
    for _ in range(3):
        make_customer()
    html = admin_client.get("/admin/crm/customer/").content.decode()
    assert "lebih dari 2" in html


def test_the_users_list_is_untouched(admin_client):
    # Only the CRM's own lists are capped; auth's list keeps Django's paginator.
    response = admin_client.get("/admin/auth/user/")
    assert response.context["cl"].result_count == User.objects.count()


def test_the_row_checkbox_is_the_stock_markup(admin_client, make_customer):
    # Our action_checkbox skips the form-widget rendering for speed; the
    # markup must stay what the admin's actions JavaScript selects on.
    from django.contrib import admin as django_admin

    customer = make_customer(name="Bu Sri <Kripik>")
    ours = django_admin.site._registry[Customer].action_checkbox(customer)
    stock = django_admin.ModelAdmin.action_checkbox(
        django_admin.site._registry[Customer], customer
    )
    assert ours == stock
    html = admin_client.get("/admin/crm/customer/").content.decode()
    assert ours in html
