"""WhatsApp numbers: one normalised form for storage, matching and sending.

A number is stored as its E.164 digits without the "+" (``6281234567890``),
the form KirimWA and wa.me expect. Users type numbers every which way
(``0812-3456-7890``, ``+62 812 3456 7890``, ``62812 3456 7890``); they all
normalise to the same digits, so the number can be the customer's identity.
"""

import decimal
import functools
import re

import phonenumbers
from django.utils.translation import gettext as _

DEFAULT_REGION = "ID"
INDONESIA_CALLING_CODE = "62"

# What a search term may contain to be read as (part of) a phone number.
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-]+$")
_NON_DIGITS = re.compile(r"\D")


class InvalidPhoneNumber(ValueError):
    """The text is not a valid phone number; str() is a message for the user."""


def normalize_phone(raw):
    """Return the number as E.164 digits without "+", or raise InvalidPhoneNumber.

    Numbers without a country code are read as Indonesian. Normalising a
    stored number changes nothing.
    """
    # Plain digits (a stored number, normalised again by model validation
    # and on save) are written as they are: straight to the cached reading.
    if type(raw) is str and raw.isascii() and raw.isdigit():
        text = number = raw
    else:
        text = written_digits(raw)
        number = _number_part(text)
    digits = _e164_digits(number) if number else None
    if digits is None:
        raise InvalidPhoneNumber(_("Invalid phone number: %(number)s") % {"number": text})
    return digits


# The number in a cell: from its first digit (or the "+" or "(" before it)
# to its last digit. Words around it ("Telp. 0342-801234", "0812 3456
# 7890 (WA)") are passed over; inside it only separators may stand.
_NUMBER_PART = re.compile(r"[+(]*\d(?:.*\d)?", re.S)
_NUMBER_INSIDE = re.compile(r"[+(]*\d[\d\s\-.()\u2010-\u2015]*")


def _number_part(text):
    """The part of ``text`` that is the number, or None if it is not one.

    A letter, a quote or any sign but a separator among its digits makes it
    no number: phonenumbers reads letters as a keypad's (0812-345-WAWA is
    0812-345-9292) and drops others (0812345678O, O typed for a zero, would
    be a stranger's 11-digit number); a formula (="0"&"812…") or two numbers
    in a cell (0812… / 0813…) are not one number either. So is a letter
    touching a digit at either end (0812…789O).
    """
    found = _NUMBER_PART.search(text)
    if found is None:
        return None
    number = found.group()
    start, end = found.span()
    touching = (start > 0 and text[start - 1].isalnum()) or (
        end < len(text) and text[end].isalnum()
    )
    if touching or not _NUMBER_INSIDE.fullmatch(number):
        return None
    return number


def is_sendable(digits):
    """Whether ``digits`` is a number a WhatsApp message may go to: a valid
    number in the stored form, i.e. one normalize_phone leaves as it is.

    The one rule for it: the outbox (crm.whatsapp.eligibility) and the
    gateway's clients apply this, not a pattern of their own. Fast on stored
    digits: normalize_phone reads them straight from its cache.
    """
    if not (isinstance(digits, str) and digits.isascii() and digits.isdigit()):
        return False
    try:
        return normalize_phone(digits) == digits
    except InvalidPhoneNumber:
        return False


# The shape of every sendable number (E.164: at most 15 digits, never a
# leading 0), for the database, which cannot apply is_sendable itself:
# a number without it is surely not sendable.
SENDABLE_SHAPE = r"^[1-9][0-9]{1,14}$"


# How spreadsheets write a number cell as text: 6281234567890.0 (Excel,
# LibreOffice and pandas in CSV), 6.28123456789e+12 (e-notation). The last
# dot or comma is a decimal point when one or two digits follow it (people
# group a number's digits by 3 or 4), or when it follows a run of 8 or more
# digits (no one groups digits like that).
_DECIMAL_NUMBER = re.compile(r"(\+?[\d\s\-()]*\d)[.,](\d+)")
_E_NOTATION = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")


def written_digits(raw):
    """The number as text with the digits the user wrote, or InvalidPhoneNumber.

    A number cell (``6281234567890.0``, ``8.1234567890E+10``) or its text
    becomes its digits; a fraction or an e-notation that dropped digits
    (``6.28123E+12``) is refused, quoting the cell: the digits that are not
    there cannot be guessed, and guessing zeros would store a stranger's
    number. A leading apostrophe (a spreadsheet's mark for text) is dropped.
    """
    if isinstance(raw, int | float | decimal.Decimal) and not isinstance(raw, bool):
        return _whole_number(decimal.Decimal(raw), str(raw))
    text = str(raw or "").strip().removeprefix("'").strip()
    if _E_NOTATION.fullmatch(text):
        return _whole_number(decimal.Decimal(text.replace(",", ".")), text)
    decimal_number = _DECIMAL_NUMBER.fullmatch(text)
    if decimal_number:
        whole, fraction = decimal_number.groups()
        if len(fraction) <= 2 or re.fullmatch(r"\+?\d{8,}", whole):
            if fraction.strip("0"):
                raise _not_whole(text)
            return whole
    return text


def _whole_number(number, cell):
    """The digits of ``number``, if the cell written as ``cell`` wrote them all."""
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        raise _not_whole(cell)
    if number.as_tuple().exponent > 0:
        # 6.28123E+12: six digits written, seven missing.
        raise InvalidPhoneNumber(
            _("The number %(cell)s lost digits in the spreadsheet (it was rounded). Format "
              "the column as text and type the number again.") % {"cell": cell}
        )
    return str(int(number))


def _not_whole(cell):
    return InvalidPhoneNumber(_("Invalid phone number: %(number)s") % {"number": cell})


def _indonesian_mobile_pattern():
    """A regex for an Indonesian mobile number as people type it, built from
    the phonenumbers library's own metadata (its mobile and general patterns),
    so it accepts no number the library would reject."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(DEFAULT_REGION)
    mobile = metadata.mobile.national_number_pattern
    general = metadata.general_desc.national_number_pattern
    return re.compile(rf"(?:\+?62|0)?(?=(?:{general})$)({mobile})")


_INDONESIAN_MOBILE = _indonesian_mobile_pattern()
_SEPARATORS = re.compile(r"[\s\-.()]")


@functools.lru_cache(maxsize=65_536)
def _e164_digits(text):
    # Cached: a number is normalised several times on its way in (form or
    # import, model validation, save) and parsing is the costly part.
    # Most numbers are Indonesian mobiles typed as 0812…, +62 812… or
    # 62812…: matched directly, the same answer as parsing (tested), at a
    # fraction of the cost on a 100,000-row import.
    return _typed_indonesian_mobile(text) or _parsed_e164_digits(text)


def _typed_indonesian_mobile(text):
    mobile = _INDONESIAN_MOBILE.fullmatch(_SEPARATORS.sub("", text))
    return INDONESIA_CALLING_CODE + mobile.group(1) if mobile else None


def _parsed_e164_digits(text):
    candidates = [text]
    if text.isdigit() and not text.startswith(("0", "8")):
        # Bare digits not starting like a local number (08…, or 8… once a
        # spreadsheet dropped the 0) are read as the stored form first: a
        # country code without "+". So a stored Singapore 6591234567 stays
        # Singaporean instead of becoming an Indonesian 0659….
        candidates.insert(0, "+" + text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return None


# A stored Indonesian mobile number (62, then 9-12 digits starting 8[1-35-9]):
# format_phone writes it as phonenumbers' metadata for ID formats it, without
# parsing, which took 27 µs a number, 100 times on a customer list.
_STORED_MOBILE = re.compile(r"62(8[1-35-9]\d)(\d{6,9})")


def format_phone(digits):
    """The stored digits in the readable international form, e.g. +62 812-3456-7890."""
    if not digits:
        return ""
    mobile = _STORED_MOBILE.fullmatch(digits) if digits.isascii() else None
    if mobile is not None:
        prefix, rest = mobile.groups()
        # ID's patterns: 3-3-3 and 3-4-3 digits up to 10, then 3-4-4 and 3-4-5.
        middle = 3 if len(rest) == 6 else 4
        return f"+62 {prefix}-{rest[:middle]}-{rest[middle:]}"
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def whatsapp_chat_url(digits):
    """Click-to-chat link that opens a chat with the number in WhatsApp."""
    return f"https://wa.me/{digits}"


def phone_search_prefix(term):
    """The stored-form prefix a search term stands for, or None if it is not a number.

    ``0812 3456`` and ``812345`` are the start of a local mobile number and
    become ``6281234...``; ``+62 812`` and ``62812`` already carry the country
    code. The result is matched as a prefix of the indexed phone column, so a
    search never scans the table.
    """
    term = term.strip()
    if not _PHONE_LIKE.match(term):
        return None
    digits = _NON_DIGITS.sub("", term)
    if len(digits) < 3:
        return None
    if term.startswith("+"):
        return digits
    if digits.startswith("0"):
        return INDONESIA_CALLING_CODE + digits.lstrip("0")
    if digits.startswith("8"):
        # Indonesian mobile numbers are 08xx locally; people often drop the 0.
        return INDONESIA_CALLING_CODE + digits
    return digits
