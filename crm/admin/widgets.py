"""Form inputs made for a phone: amounts in Rupiah typed with a numeric keypad
and shown with thousands dots (``Rp 1.260.000``), WhatsApp numbers with the
telephone keypad and shown as people write them (``0812-3456-7890``), and
owner selects without the edit/add/delete-user icons; and the history
page's changes read the same way (Negosiasi → Menang, not negotiation → won).

What is typed is still read by the model's own rules: the Rupiah field only
strips the dots and the "Rp" people write; a phone number is normalised by
the model field (crm/models/fields.py)."""

import re

from django import forms
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.template_utils import HistoricalRecordContextHelper

from crm.formatting import format_rupiah
from crm.models import WhatsAppNumberField
from crm.phones import format_phone

# "Rp 1.260.000", "1.260.000", "1260000", "Rp1.260.000,00", "1 260 000".
_RUPIAH_PREFIX = re.compile(r"^\s*rp\.?\s*", re.IGNORECASE)
_ZERO_CENTS = re.compile(r",0{1,2}$")
_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")


def parse_rupiah(text):
    """The whole rupiah ``text`` stands for, as a string of digits, or ``text``
    unchanged when it is not an amount written that way (so the integer field
    refuses it with its own message)."""
    value = _RUPIAH_PREFIX.sub("", str(text)).replace(" ", "").replace("\u00a0", "")
    value = _ZERO_CENTS.sub("", value)
    if _GROUPED.fullmatch(value):
        return re.sub(r"[.,]", "", value)
    return value


class RupiahInput(forms.TextInput):
    """A text input (a number input refuses the dots) with the numeric keypad;
    crm/static/crm/phone-forms.js puts the dots in while typing."""

    def __init__(self, attrs=None):
        super().__init__({
            "inputmode": "numeric", "autocomplete": "off", "class": "vTextField crm-rupiah",
            "data-rupiah": "", **(attrs or {}),
        })

    def format_value(self, value):
        if value in (None, ""):
            return None
        try:
            return format_rupiah(int(value))
        except (TypeError, ValueError):
            return str(value)  # a refused entry is shown back as typed


class RupiahField(forms.IntegerField):
    widget = RupiahInput
    default_error_messages = {
        "invalid": _("Type an amount in rupiah, e.g. 1.260.000."),
    }

    def to_python(self, value):
        if isinstance(value, str):
            value = parse_rupiah(value)
        return super().to_python(value)

    def widget_attrs(self, widget):
        # Not IntegerField's min/max/step: those are for <input type=number>.
        return {}


def readable_phone(digits):
    """A stored number as its owner writes it: ``0812-3456-7890`` for an
    Indonesian one, ``+65 9123 4567`` for another country's."""
    readable = format_phone(digits)
    if readable.startswith("+62 "):
        return "0" + readable.removeprefix("+62 ").replace(" ", "-")
    return readable


class PhoneInput(forms.TextInput):
    """The telephone keypad, and the stored digits shown readably."""

    input_type = "tel"

    def __init__(self, attrs=None):
        super().__init__({
            "inputmode": "tel", "autocomplete": "tel", "class": "vTextField", **(attrs or {}),
        })

    def format_value(self, value):
        if value and str(value).isascii() and str(value).isdigit():
            return readable_phone(str(value))
        return super().format_value(value)


class PhoneFormFieldsMixin:
    """For a model admin or an inline: amounts as RupiahField, WhatsApp
    numbers with PhoneInput, and the owner select without the icons that
    lead to the user admin (a salesperson has no business there, and on a
    phone they crowd the select)."""

    rupiah_fields = ("amount",)
    phone_fields = ("phone",)
    plain_select_fields = ("owner",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.rupiah_fields:
            kwargs["form_class"] = RupiahField
            kwargs["widget"] = RupiahInput
        elif db_field.name in self.phone_fields:
            kwargs["widget"] = PhoneInput
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if (
            db_field.name in self.plain_select_fields
            and formfield is not None
            and isinstance(formfield.widget, RelatedFieldWidgetWrapper)
        ):
            formfield.widget = formfield.widget.widget
        return formfield


# --- A history page's changes -------------------------------------------------

EMPTY = "-"


class ReadableHistoryContextHelper(HistoricalRecordContextHelper):
    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if value is None or value == "":
            return EMPTY
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, WhatsAppNumberField):
            return readable_phone(value)
        if field.name in ("amount", "amount_paid"):
            return format_rupiah(value)
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        return super().prepare_delta_change_value(change, value)


class ReadableHistoryMixin:
    """For a SimpleHistoryAdmin: its history page's changes in readable values."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContextHelper(self.model, historical_record)
