"""Message text with placeholders, in Indonesian or English: {nama} or {name}.

A template is checked when it is saved, so a typo such as {nma} is an error
on the form, not a message that reaches 200 customers with "{nma}" in it.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm.formatting import format_date, format_rupiah

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Placeholder -> what it stands for. Both languages, same meaning.
CUSTOMER_PLACEHOLDERS = {
    "nama": "name", "name": "name",
    "usaha": "business", "business": "business",
    "kota": "city", "city": "city",
}
OPPORTUNITY_PLACEHOLDERS = {
    "judul": "title", "title": "title",
    "nilai": "amount", "amount": "amount",
    # Orders (crm/models/orders.py): what is left to pay, by when, what was paid in
    # all, and this payment (in a receipt; elsewhere the order's latest one).
    "sisa": "outstanding", "outstanding": "outstanding",
    "jatuh_tempo": "due_date", "due_date": "due_date",
    "dibayar": "paid", "paid": "paid",
    "pembayaran": "payment", "payment": "payment",
}
PLACEHOLDERS = {**CUSTOMER_PLACEHOLDERS, **OPPORTUNITY_PLACEHOLDERS}


def placeholders_in(text):
    return {match.group(1) for match in _PLACEHOLDER.finditer(text or "")}


def check_placeholders(text, *, for_opportunities=True):
    """Raise ValidationError naming every placeholder ``text`` may not use."""
    allowed = PLACEHOLDERS if for_opportunities else CUSTOMER_PLACEHOLDERS
    used = placeholders_in(text)
    unknown = sorted(name for name in used if name.lower() not in PLACEHOLDERS)
    if unknown:
        raise ValidationError(
            _("Unknown placeholder: %(names)s. Use %(known)s.")
            % {
                "names": ", ".join(f"{{{name}}}" for name in unknown),
                "known": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            },
            code="unknown_placeholder",
        )
    needs_opportunity = sorted(name for name in used if name.lower() not in allowed)
    if needs_opportunity:
        raise ValidationError(
            _("%(names)s can only be used when sending from the opportunity list.")
            % {"names": ", ".join(f"{{{name}}}" for name in needs_opportunity)},
            code="needs_opportunity",
        )


def render(text, customer, opportunity=None, payment=None):
    """``text`` with its placeholders filled in for ``customer`` (and ``opportunity``,
    and the ``payment`` a receipt is for)."""
    values = {
        "name": customer.name,
        "business": customer.business_name,
        "city": customer.city,
    }
    if opportunity is not None:
        values["title"] = opportunity.title
        values["amount"] = format_rupiah(opportunity.amount)
        values["outstanding"] = format_rupiah(max(opportunity.amount - opportunity.amount_paid, 0))
        values["paid"] = format_rupiah(opportunity.amount_paid)
        values["due_date"] = (
            format_date(opportunity.payment_due_date) if opportunity.payment_due_date else "-"
        )
        if payment is None and "payment" in {PLACEHOLDERS.get(n.lower()) for n in
                                             placeholders_in(text)}:
            payment = opportunity.payments.order_by("-paid_on", "-pk").first()
        values["payment"] = format_rupiah(payment.amount) if payment is not None else "-"

    def fill(match):
        meaning = PLACEHOLDERS.get(match.group(1).lower())
        value = values.get(meaning)
        # Checked before sending; a placeholder without a value stays visible.
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(fill, text)
