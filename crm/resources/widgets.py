"""The cells of our spreadsheets, read and written (django-import-export
widgets): text, WhatsApp numbers, choices by their label in either language,
rupiah amounts and dates as people here write them."""

import copy
import datetime
import decimal
import re

from django.utils import translation
from django.utils.translation import gettext as _
from import_export import widgets

from crm.phones import InvalidPhoneNumber, format_phone, normalize_phone
from crm.spreadsheets.headers import header_key
from crm.spreadsheets.writing import unescape_formula


class TextWidget(widgets.CharWidget):
    """Text with the surrounding whitespace trimmed; blank is "". The
    apostrophe an export put before a formula-like cell goes again."""

    def clean(self, value, row=None, **kwargs):
        # Text is the library's answer for text, without its calls.
        text = value if type(value) is str else super().clean(value, row, **kwargs)
        return unescape_formula(text).strip()


class EmailWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return super().clean(value, row, **kwargs).lower()


class PhoneWidget(widgets.CharWidget):
    """A WhatsApp number, normalised exactly as the customer form does."""

    # Texts read so far and their numbers: an import reads a row's number
    # three times (to find its customer, again for the row, and to set it).
    # Each resource has its own copy of its widgets, so this lasts one import.
    READ_MEMORY = 250_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read = {}

    def __deepcopy__(self, memo):
        widget = copy.copy(self)
        widget._read = {}
        return widget

    def clean(self, value, row=None, **kwargs):
        if type(value) is str:
            digits = self._read.get(value)
            if digits is not None:
                return digits
        # A number cell (Excel stores a typed 081234567890 as 81234567890.0)
        # is read by normalize_phone, which knows what a spreadsheet does to
        # numbers; only a blank cell is no number.
        if value is None or not str(value).strip().removeprefix("'").strip():
            return None
        try:
            digits = normalize_phone(value)
        except InvalidPhoneNumber as error:
            raise ValueError(str(error)) from error  # not kept: said again each time
        if type(value) is str and len(self._read) < self.READ_MEMORY:
            self._read[value] = digits
        return digits

    def render(self, value, obj=None, **kwargs):
        # Indonesian numbers the way people write them (0812-3456-7890);
        # others in international form.
        if value and value.startswith("62"):
            return "0" + format_phone(value).removeprefix("+62 ")
        return format_phone(value)


class ChoiceLabelWidget(widgets.Widget):
    """A choice given by its Indonesian or English label (or its stored value)."""

    def __init__(self, choices, default, **kwargs):
        self.choices = choices
        self.default = default
        self._by_name = None
        super().__init__(**kwargs)

    def names(self):
        """Every accepted spelling, in both languages, built once."""
        if self._by_name is None:
            self._by_name = {}
            for stored, label in self.choices:
                self._by_name[header_key(stored)] = stored
                for language in ("id", "en"):
                    with translation.override(language):
                        self._by_name[header_key(str(label))] = stored
        return self._by_name

    def clean(self, value, row=None, **kwargs):
        text = header_key(value)
        if not text:
            return self.default
        if text in self.names():
            return self.names()[text]
        accepted = ", ".join(str(label) for _stored, label in self.choices)
        raise ValueError(
            _("Unknown value %(value)s; use one of: %(accepted)s")
            % {"value": value, "accepted": accepted}
        )

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


class RupiahWidget(widgets.Widget):
    """A whole-rupiah amount as people and programs write it: Rp 1.500.000,
    1.500.000, 1500000, 1.500.000,00, Rp 1.500.000,- (Indonesian: dots group
    thousands, a comma starts the sen), 1500000.0 and 1,500,000 (a program
    or English settings), 1,5 jt and 150 rb.

    Never a different amount: a dot or comma is a group separator only
    before groups of three digits, otherwise a decimal point; a fraction of
    a rupiah (1.5, 1500000.5) is refused, quoting the cell.
    """

    MULTIPLIERS = {"rb": 1_000, "ribu": 1_000, "k": 1_000, "jt": 1_000_000,
                   "juta": 1_000_000}
    _AMOUNT = re.compile(r"(?P<number>\d[\d.,]*?)(?:,-)?\s*(?P<unit>[a-z]*)\.?")

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return 0
        if isinstance(value, bool):
            raise self.refused(value)
        if isinstance(value, int | float | decimal.Decimal):
            # A workbook's number: a formula's 0.57 * 100000000 is stored as
            # 56999999.99999999, so it is rounded, not cut; a real fraction
            # of a rupiah is refused.
            return self.whole(decimal.Decimal(repr(value)) if isinstance(value, float)
                              else decimal.Decimal(value), value)
        text = str(value).strip().lower().replace(" ", "").replace("\u00a0", "")
        text = text.removeprefix("rp").removeprefix("idr").strip()
        found = self._AMOUNT.fullmatch(text)
        if not found or (found["unit"] and found["unit"] not in self.MULTIPLIERS):
            raise self.refused(value)
        number = self.number(found["number"], value)
        return self.whole(number * self.MULTIPLIERS.get(found["unit"], 1), value)

    _GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")

    def number(self, text, cell):
        """The Decimal a written number stands for, by its separators."""
        if self._GROUPED.fullmatch(text):
            # 1.500.000 or 1,500,000: one kind of separator, grouping
            # thousands (1.500 is one thousand five hundred, as Indonesians
            # write it, not one and a half).
            return decimal.Decimal(re.sub(r"[.,]", "", text))
        last = max(text.rfind("."), text.rfind(","))
        if last < 0:
            return decimal.Decimal(text)
        # The last separator is a decimal point; before it, digits grouped
        # by the other separator (1.500.000,00, 1,500,000.00) or none.
        head, point, tail = text[:last], text[last], text[last + 1:]
        grouped = self._GROUPED.fullmatch(head)
        if not tail.isdigit() or not (
            head.isdigit() or (grouped and grouped.group(1) != point)
        ):
            raise self.refused(cell)
        return decimal.Decimal(re.sub(r"[.,]", "", head) + "." + tail)

    def whole(self, number, cell):
        rounded = number.to_integral_value(rounding=decimal.ROUND_HALF_UP)
        noise = decimal.Decimal("0.001")
        if not number.is_finite() or number < 0 or abs(number - rounded) > noise:
            raise ValueError(_("Not a whole amount in rupiah: %(value)s") % {"value": cell})
        return int(rounded)

    @staticmethod
    def refused(cell):
        return ValueError(_("Not an amount in rupiah: %(value)s") % {"value": cell})

    def render(self, value, obj=None, **kwargs):
        return value


class DateWidget(widgets.DateWidget):
    """A date as people type it here (20/12/2026, 20-12-2026) or ISO (2026-12-20)."""

    FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str) and value.strip():
            for date_format in self.FORMATS:
                try:
                    return datetime.datetime.strptime(value.strip(), date_format).date()
                except ValueError:
                    continue
            raise ValueError(_("Not a date: %(value)s") % {"value": value})
        if isinstance(value, datetime.datetime):
            # A workbook's date cell: a datetime never equals the stored date,
            # so every re-imported row would count as changed.
            return value.date()
        if isinstance(value, datetime.date) or value is None or value == "":
            return super().clean(value, row, **kwargs)
        # A number (a date cell that lost its date format shows 46387).
        raise ValueError(_("Not a date: %(value)s") % {"value": value})

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class CustomerByPhoneWidget(widgets.Widget):
    """The customer a row's WhatsApp number belongs to (see OpportunityResource)."""

    def render(self, value, obj=None, **kwargs):
        return PhoneWidget().render(value.phone) if value else ""
