"""An opportunity's search text, kept by the large tables' queryset
(crm/largelists/search_text.py through ScannableQuerySet)."""

from crm.largelists.queryset import ScannableQuerySet
from crm.models import Customer, Opportunity


def test_the_search_text_is_the_title_and_the_customers_names_and_number(make_customer):
    customer = make_customer(name="Siti Rahayu", business_name="Kripik Bu Siti")
    assert ScannableQuerySet.search_text_of("Kripik tempe", customer) == (
        f"Kripik tempe Siti Rahayu Kripik Bu Siti {customer.phone}"
    )
    assert Opportunity.objects.search_text_of("Kripik tempe", customer) == (
        ScannableQuerySet.search_text_of("Kripik tempe", customer)
    )


def test_an_empty_part_leaves_no_gap(make_customer):
    customer = make_customer(name="Siti", business_name="")
    assert ScannableQuerySet.search_text_of("", customer) == f"Siti {customer.phone}"


def test_refreshing_writes_what_saving_writes_to_the_chosen_rows_only(
    make_opportunity, make_customer
):
    siti = make_customer(name="Siti", business_name="Kripik")
    mine, other = make_opportunity(customer=siti), make_opportunity()
    Opportunity.objects.update(search_text="")
    assert Opportunity.objects.filter(pk=mine.pk).refresh_search_text() == 1
    assert Opportunity.objects.get(pk=mine.pk).search_text == (
        ScannableQuerySet.search_text_of(mine.title, siti)
    )
    assert Opportunity.objects.get(pk=other.pk).search_text == ""


def test_a_customers_opportunities_refresh_through_the_related_manager(
    make_opportunity, make_customer
):
    siti = make_customer(name="Siti", business_name="Kripik")
    deal = make_opportunity(customer=siti)
    Customer.objects.filter(pk=siti.pk).update(name="Siti Aminah")  # behind save()
    siti.refresh_from_db()
    assert siti.opportunities.refresh_search_text() == 1
    assert Opportunity.objects.get(pk=deal.pk).search_text == (
        ScannableQuerySet.search_text_of(deal.title, siti)
    )
