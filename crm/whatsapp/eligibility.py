"""Who may get a WhatsApp message: one rule for a sendable number, and the
reasons a customer is skipped (no number, opted out, invalid number)."""

import functools
import operator
import re

from django.db.models import Q
from django.utils.translation import gettext_lazy

SKIP_NO_PHONE = gettext_lazy("no WhatsApp number")
SKIP_OPTED_OUT = gettext_lazy("opted out of WhatsApp messages")
SKIP_INVALID = gettext_lazy("invalid WhatsApp number")

# A stored number is normalised on every write path; the pattern still
# guards against rows written around them (raw SQL, an old backup).
VALID_PHONE = r"^[0-9]{8,15}$"


def skip_conditions(prefix=""):
    """Skip reason -> condition, over customers (prefix "") or opportunities ("customer__")."""
    no_phone = Q(**{f"{prefix}phone__isnull": True}) | Q(**{f"{prefix}phone": ""})
    opted_out = ~no_phone & Q(**{f"{prefix}whatsapp_opt_out": True})
    invalid = ~no_phone & ~opted_out & ~Q(**{f"{prefix}phone__regex": VALID_PHONE})
    return {SKIP_NO_PHONE: no_phone, SKIP_OPTED_OUT: opted_out, SKIP_INVALID: invalid}


def eligible_condition(prefix=""):
    """The rows none of the skip conditions holds for."""
    return ~functools.reduce(operator.or_, skip_conditions(prefix).values())


def skip_reason(customer):
    """Why ``customer`` gets no message (the row-by-row form of skip_conditions), or None."""
    if not customer.phone:
        return SKIP_NO_PHONE
    if customer.whatsapp_opt_out:
        return SKIP_OPTED_OUT
    if not sendable(customer.phone):
        return SKIP_INVALID
    return None


def sendable(phone):
    """Whether ``phone`` is a number a message may be sent to."""
    return bool(phone) and re.match(VALID_PHONE, phone) is not None
