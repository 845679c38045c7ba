"""Numbers the way Indonesians write them, whatever the interface language.

Rupiah has no minor unit in daily use and groups thousands with dots:
``Rp 12.500.000``; percentages use a decimal comma: ``37,5%``.
"""


def format_number(value):
    """A whole number with dots between thousands: 12.500.000."""
    return f"{int(value):,}".replace(",", ".")


def format_rupiah(amount):
    if amount is None:
        return "-"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {format_number(abs(amount))}"


def format_percent(value, decimals=1):
    if value is None:
        return "-"
    return f"{value:.{decimals}f}".replace(".", ",") + "%"
