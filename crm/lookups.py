"""Which filters a list URL may carry: comparisons only.

Django's admin applies any lookup on a model's own fields taken from the
URL, so ``?title__regex=^(c+)+$`` reached the database. On SQLite that runs
Python's ``re``, which backtracks exponentially: 26 characters held a worker
12.5 s, 29 past gunicorn's 60 s (security pass, issue 14). Pattern lookups
(regex, contains, startswith, …) are never a list filter or a dashboard link
here; text is found through the search box (crm/largelists/search.py), which is bounded.

So a URL lookup is a path of fields followed only by plain comparisons, each
answered from an index or a row at a time. Anything else is refused with
Django's own DisallowedModelAdminLookup: a 400, before any query runs.
"""

from django.contrib.admin import SimpleListFilter
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

# What the list filters and the dashboard's links use. Not ``range``: a URL
# value is one string, which Django's range takes apart character by
# character (an IndexError, or a query with the wrong number of parameters).
# Nor ``year``, ``month``, ``day``: only a date drill-down sends them, no
# list has one (crm/security.py turns axes' off), and ``?created_at__year=0``
# failed inside Django's SQL compiler. Each was a 500 (issue 14, point 6).
COMPARISONS = frozenset({
    "exact", "iexact", "in", "gt", "gte", "lt", "lte", "isnull", "date",
})

# Past a 64-bit integer the database drivers refuse the number (SQLite:
# OverflowError). Django answers an integer field's exact, gt and lt with
# such a number itself, not ``in`` nor a foreign key's (``?template=10**22``).
BIGGEST_INTEGER = 2**63 - 1


def is_comparison_lookup(model, lookup):
    """True if ``lookup`` (``owner__id__exact``) is fields then comparisons."""
    _field, comparisons = _split(model, lookup)
    return all(part in COMPARISONS for part in comparisons)


def _split(model, lookup):
    """The last field ``lookup`` names (None: none), and the parts after it."""
    parts = lookup.split(LOOKUP_SEP)
    opts, field = model._meta, None
    index = 0
    while index < len(parts):
        try:
            field = opts.get_field(parts[index])
        except FieldDoesNotExist:
            break
        index += 1
        if not field.is_relation or field.related_model is None:
            break
        opts = field.related_model._meta
    return field, parts[index:]


class ComparisonLookupsOnlyMixin:
    """A ModelAdmin whose lists and exports accept comparison lookups only."""

    def lookup_allowed(self, lookup, value, request=None):
        if lookup not in self._own_filter_parameters(request) and not is_comparison_lookup(
            self.model, lookup
        ):
            return False
        field, comparisons = _split(self.model, lookup)
        unguarded = "in" in comparisons or (field is not None and field.is_relation)
        if unguarded and _has_huge_integer(value):
            return False
        return super().lookup_allowed(lookup, value, request)

    def _own_filter_parameters(self, request):
        """The URL parameters of the list's own filters (``follow_up``)."""
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        return {
            item.parameter_name for item in list_filter
            if isinstance(item, type) and issubclass(item, SimpleListFilter)
        }


def _has_huge_integer(values):
    """True if a value (``1,2``, or a list of them) has an integer no
    database column holds."""
    for value in values if isinstance(values, list) else [values]:
        for part in str(value).split(","):
            try:
                if abs(int(part)) > BIGGEST_INTEGER:
                    return True
            except ValueError:
                continue  # not a number: the field's own check refuses it
    return False
