import pytest

from crm.formatting import format_number, format_percent, format_rupiah


@pytest.mark.parametrize(
    "amount, shown",
    [(1_500_000, "Rp 1.500.000"), (0, "Rp 0"), (999, "Rp 999"), (-25_000, "-Rp 25.000"),
     (999_999_999_999, "Rp 999.999.999.999"), (None, "–")],
)
def test_it_writes_rupiah_with_dots_between_thousands(amount, shown):
    assert format_rupiah(amount) == shown


def test_it_writes_percentages_with_a_decimal_comma():
    assert format_percent(37.5) == "37,5%"
    assert format_percent(60.0) == "60%"
    assert format_percent(100 / 3) == "33,3%"
    assert format_percent(None) == "–"


def test_it_groups_plain_numbers_the_indonesian_way():
    assert format_number(10_000) == "10.000"
