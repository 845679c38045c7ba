"""Numbers the way Indonesians write them, whatever the interface language.

Rupiah has no minor unit in daily use and groups thousands with dots:
``Rp 12.500.000``; percentages use a decimal comma: ``37,5%``.
"""

# Shown where a figure has nothing to be computed from (a rate of zero deals).
NO_FIGURE = "–"


def format_number(value):
    """A whole number with dots between thousands: 12.500.000."""
    return f"{int(value):,}".replace(",", ".")


def format_rupiah(amount):
    if amount is None:
        return NO_FIGURE
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {format_number(abs(amount))}"


def format_percent(value, decimals=1):
    """``37,5%``; a whole number without decimals (``60%``); NO_FIGURE for None."""
    if value is None:
        return NO_FIGURE
    if float(value).is_integer():
        return f"{int(value)}%"
    return f"{value:.{decimals}f}".replace(".", ",") + "%"


# Each pipeline stage's colour wherever it is shown (Bootstrap contextual
# classes), so a stage looks the same on lists, board and dashboard.
STAGE_COLOURS = {
    "prospect": "secondary",
    "contacted": "info",
    "proposal": "primary",
    "negotiation": "warning",
    "won": "success",
    "lost": "danger",
}


# Month names as Indonesians write dates, whatever the interface language:
# 5 Desember 2026.
INDONESIAN_MONTHS = [
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
    "September", "Oktober", "November", "Desember",
]


def format_date(date):
    return f"{date.day} {INDONESIAN_MONTHS[date.month - 1]} {date.year}"
