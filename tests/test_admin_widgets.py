"""The phone-friendly inputs (crm/admin/widgets.py): amounts in Rupiah typed
with dots on a numeric keypad, WhatsApp numbers with the telephone keypad
and shown readably, owner selects without the user admin's icons."""

import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import ValidationError

from crm.admin.customers import CustomerAdmin
from crm.admin.opportunities import OpportunityAdmin
from crm.admin.widgets import PhoneInput, RupiahField, RupiahInput, parse_rupiah, readable_phone
from crm.models import Customer, Opportunity


@pytest.mark.parametrize("typed", ["Rp 1.260.000", "1.260.000", "1260000", "rp1.260.000",
                                   "Rp 1.260.000,00", " 1 260 000 ", "Rp\u00a01.260.000"])
def test_it_reads_an_amount_however_it_was_typed(typed):
    assert RupiahField().clean(typed) == 1_260_000


@pytest.mark.parametrize("typed", ["1.26", "12,5", "satu juta", "1.260.000,50", "Rp"])
def test_it_refuses_what_is_no_whole_rupiah_amount(typed):
    with pytest.raises(ValidationError):
        RupiahField().clean(typed)


def test_parse_rupiah_leaves_what_it_does_not_recognise_to_the_integer_field():
    assert parse_rupiah("12,5") == "12,5"
    assert parse_rupiah("Rp 800.000") == "800000"


def test_the_amount_input_shows_dots_and_asks_for_the_numeric_keypad():
    html = RupiahInput().render("amount", 1_260_000)
    assert 'value="Rp 1.260.000"' in html
    assert 'inputmode="numeric"' in html
    assert 'type="text"' in html  # a number input would refuse the dots
    assert "data-rupiah" in html


def test_the_amount_input_shows_a_refused_entry_back_as_typed():
    assert 'value="satu juta"' in RupiahInput().render("amount", "satu juta")
    assert "value=" not in RupiahInput().render("amount", None)


@pytest.mark.parametrize(("stored", "shown"), [
    ("6281200000000", "0812-0000-0000"),
    ("6281234567890", "0812-3456-7890"),
    ("628123456789", "0812-3456-789"),
    ("6591234567", "+65 9123 4567"),
])
def test_a_stored_number_is_shown_as_people_write_it(stored, shown):
    assert readable_phone(stored) == shown


def test_the_phone_input_asks_for_the_telephone_keypad():
    html = PhoneInput().render("phone", "6281200000000")
    assert 'type="tel"' in html
    assert 'inputmode="tel"' in html
    assert 'value="0812-0000-0000"' in html
    # What the user typed and was refused is shown back untouched.
    assert 'value="0812-abc"' in PhoneInput().render("phone", "0812-abc")


@pytest.mark.django_db
def test_the_customer_form_takes_the_readable_number_back(rf, admin_user):
    admin = CustomerAdmin(Customer, AdminSite())
    request = rf.get("/")
    request.user = admin_user
    form_class = admin.get_form(request)
    form = form_class(data={"name": "Bu Sum", "phone": "0812-0000-0000", "source": "whatsapp"})
    assert form.is_valid(), form.errors
    assert form.instance.phone == "6281200000000"
    assert isinstance(form.fields["phone"].widget, PhoneInput)


@pytest.mark.django_db
def test_the_deal_form_has_rupiah_amounts_and_an_owner_select_without_icons(rf, admin_user):
    admin = OpportunityAdmin(Opportunity, AdminSite())
    request = rf.get("/")
    request.user = admin_user
    fields = admin.get_form(request).base_fields
    assert isinstance(fields["amount"], RupiahField)
    assert not isinstance(fields["owner"].widget, RelatedFieldWidgetWrapper)
    # The customer keeps its autocomplete and its links.
    assert isinstance(fields["customer"].widget, RelatedFieldWidgetWrapper)
