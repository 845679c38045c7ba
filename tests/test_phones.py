import random
import re

import pytest

from crm import phones
from crm.phones import (
    InvalidPhoneNumber,
    format_phone,
    normalize_phone,
    phone_search_prefix,
    whatsapp_chat_url,
)


@pytest.mark.parametrize("typed", ["0812-3456-7890", "+62 812 3456 7890", "62812 3456 7890"])
def test_it_normalises_the_ways_people_type_a_number_to_one_form(typed):
    assert normalize_phone(typed) == "6281234567890"


def test_it_keeps_a_foreign_number_with_its_own_country_code():
    assert normalize_phone("+60 12-345 6789") == "60123456789"


@pytest.mark.parametrize("stored", ["6281234567890", "60123456789", "6591234567"])
def test_normalising_a_stored_number_changes_nothing(stored):
    assert normalize_phone(stored) == stored


@pytest.mark.parametrize("typed", ["081-234", "12345", "halo", "", "+62 0000"])
def test_it_rejects_an_invalid_number_with_a_message_naming_it(typed):
    with pytest.raises(InvalidPhoneNumber) as error:
        normalize_phone(typed)
    assert typed.strip() in str(error.value)


@pytest.mark.parametrize("cell,stored", [
    ("6281233003304.0", "6281233003304"),  # how Excel, LibreOffice and pandas write numbers
    ("81233003305.0", "6281233003305"),
    ("0812-3456-7890.00", "6281234567890"),
    ("6.281233003302e+12", "6281233003302"),  # every digit there
    (81233003305.0, "6281233003305"),  # a number cell
    (6281233003304, "6281233003304"),
    ("'0812 3456 7890", "6281234567890"),
    ("0812.3456.7890", "6281234567890"),  # dots between groups are separators
])
def test_it_reads_a_number_as_a_spreadsheet_writes_it(cell, stored):
    assert normalize_phone(cell) == stored


@pytest.mark.parametrize("cell", [
    "6.28123E+12", "6,28123E+12", "8.12330E+10", "6.2812330033E+12", "6.28E+12",
])
def test_it_refuses_a_number_that_lost_digits_quoting_the_cell(cell):
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalize_phone(cell)
    assert cell in str(refused.value)


@pytest.mark.parametrize("cell", ["6281233003304.5", "81233003305.25", "6.2812330033045e+12"])
def test_it_refuses_a_number_with_a_fraction(cell):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(cell)


def test_the_rejection_message_is_indonesian_by_default():
    with pytest.raises(InvalidPhoneNumber, match="Nomor HP tidak valid: 081-234"):
        normalize_phone("081-234")


def test_it_shows_a_stored_number_readably():
    assert format_phone("6281234567890") == "+62 812-3456-7890"


def test_the_shown_form_of_a_stored_mobile_is_the_phonenumbers_librarys():
    """format_phone writes stored Indonesian mobiles without parsing; every
    other number is still parsed. Both must read as the library writes them."""
    import phonenumbers

    rng = random.Random(11)
    written = 0
    for country in ("62", "620", "6", "1", "65"):
        for prefix in range(800, 900):
            for length in range(4, 12):
                digits = country + str(prefix) + "".join(
                    rng.choice("0123456789") for _ in range(length)
                )
                try:
                    expected = phonenumbers.format_number(
                        phonenumbers.parse("+" + digits),
                        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                    )
                except phonenumbers.NumberParseException:
                    expected = digits
                assert format_phone(digits) == expected, digits
                written += phones._STORED_MOBILE.fullmatch(digits) is not None
    assert written > 300  # the shortcut is really taken


def test_it_links_to_a_whatsapp_chat():
    assert whatsapp_chat_url("6281234567890") == "https://wa.me/6281234567890"


@pytest.mark.parametrize(
    "term, prefix",
    [
        ("0812 3456", "628123456"),
        ("0812-3456-7890", "6281234567890"),
        ("812345", "62812345"),
        ("+62 812", "62812"),
        ("62812", "62812"),
        ("(0342) 801", "62342801"),
    ],
)
def test_it_reads_a_search_term_in_any_local_format_as_a_stored_prefix(term, prefix):
    assert phone_search_prefix(term) == prefix


@pytest.mark.parametrize("term", ["Siti", "kripik 50", "siti@contoh.id", "08", ""])
def test_it_does_not_read_words_or_too_short_numbers_as_a_phone(term):
    assert phone_search_prefix(term) is None


def test_the_fast_path_for_indonesian_mobiles_agrees_with_the_phonenumbers_library():
    """Every number the shortcut answers, parsing answers the same way."""
    rng = random.Random(7)
    answered = 0
    for first_digits in range(80, 90):
        for length in range(6, 15):
            for _ in range(8):
                national = str(first_digits) + "".join(
                    rng.choice("0123456789") for _ in range(length - 2)
                )
                for typed in (
                    "0" + national, "+62 " + national, "62" + national, national,
                    f"0{national[:3]}-{national[3:7]}-{national[7:]}",
                    f"(0{national[:3]}) {national[3:]}", "+" + national,
                ):
                    fast = phones._typed_indonesian_mobile(typed)
                    if fast is not None:
                        answered += 1
                        assert fast == phones._parsed_e164_digits(typed), typed
    assert answered > 1000  # the shortcut is really taken


@pytest.mark.parametrize("cell", [
    "08123456789O",  # the letter O typed for a zero
    "0812l3456789",  # a small L for a one
    "0812-345-WAWA",  # phonenumbers would read it as a keypad's: 0812-345-9292
    "0813-8888-OOO4",
    'O812 3456 7890',
    '="0"&"81366660002"',  # a formula's text
    "0812-3456-7895 / 0813-1111-2222",
])
def test_a_letter_or_sign_among_the_digits_is_no_number(cell):
    with pytest.raises(InvalidPhoneNumber, match=re.escape(cell)):
        normalize_phone(cell)


@pytest.mark.parametrize("cell, digits", [
    ("Telp. 0342-801235", "62342801235"),
    ("0812 3456 7890 (WA)", "6281234567890"),
    ("(+62) 812-3456-7901", "6281234567901"),
    ("0812\u20133456\u20137902", "6281234567902"),
])
def test_words_around_a_number_are_passed_over(cell, digits):
    assert normalize_phone(cell) == digits
