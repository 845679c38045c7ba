"""Who may get a WhatsApp message, and why not: no number, opted out, or a
number that is not sendable.

A sendable number is the one rule of crm.phones.is_sendable (a valid number
in its stored form), applied row by row. The database cannot apply it, so
the conditions over a selection check the shape every sendable number has
(crm.phones.SENDABLE_SHAPE); the outbox applies the rule itself to each row
it queues. Every write path stores numbers normalised, so the two part only
for a number written around them (raw SQL, an old backup).
"""

import functools
import operator

from django.db.models import Q
from django.utils.translation import gettext_lazy

from crm.phones import SENDABLE_SHAPE, is_sendable

SKIP_NO_PHONE = gettext_lazy("no WhatsApp number")
SKIP_OPTED_OUT = gettext_lazy("opted out of WhatsApp messages")
SKIP_INVALID = gettext_lazy("invalid WhatsApp number")


def skip_conditions(prefix=""):
    """Skip reason -> condition, over customers (prefix "") or opportunities ("customer__")."""
    no_phone = Q(**{f"{prefix}phone__isnull": True}) | Q(**{f"{prefix}phone": ""})
    opted_out = ~no_phone & Q(**{f"{prefix}whatsapp_opt_out": True})
    invalid = ~no_phone & ~opted_out & ~Q(**{f"{prefix}phone__regex": SENDABLE_SHAPE})
    return {SKIP_NO_PHONE: no_phone, SKIP_OPTED_OUT: opted_out, SKIP_INVALID: invalid}


def eligible_condition(prefix=""):
    """The rows none of the skip conditions holds for."""
    return ~functools.reduce(operator.or_, skip_conditions(prefix).values())


def skip_reason(customer):
    """Why ``customer`` gets no message, or None: the row-by-row form of
    skip_conditions, with the whole rule for the number."""
    if not customer.phone:
        return SKIP_NO_PHONE
    if customer.whatsapp_opt_out:
        return SKIP_OPTED_OUT
    if not is_sendable(customer.phone):
        return SKIP_INVALID
    return None
