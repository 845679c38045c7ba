"""Which filters a list URL may carry: comparisons only.

Django's admin applies any lookup on a model's own fields taken from the
URL, so ``?title__regex=^(c+)+$`` reached the database. On SQLite that runs
Python's ``re``, which backtracks exponentially: 26 characters held a worker
12.5 s, 29 past gunicorn's 60 s (security pass, issue 14). Pattern lookups
(regex, contains, startswith, …) are never a list filter or a dashboard link
here; text is found through the search box (crm/search.py), which is bounded.

So a URL lookup is a path of fields followed only by plain comparisons, each
answered from an index or a row at a time. Anything else is refused with
Django's own DisallowedModelAdminLookup: a 400, before any query runs.
"""

from django.contrib.admin import SimpleListFilter
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

# What the list filters, the date drill-down and the dashboard's links use.
COMPARISONS = frozenset({
    "exact", "iexact", "in", "gt", "gte", "lt", "lte", "isnull", "range",
    "date", "year", "month", "day",
})


def is_comparison_lookup(model, lookup):
    """True if ``lookup`` (``owner__id__exact``) is fields then comparisons."""
    parts = lookup.split(LOOKUP_SEP)
    opts = model._meta
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
    return all(part in COMPARISONS for part in parts[index:])


class ComparisonLookupsOnlyMixin:
    """A ModelAdmin whose lists and exports accept comparison lookups only."""

    def lookup_allowed(self, lookup, value, request=None):
        if lookup not in self._own_filter_parameters(request) and not is_comparison_lookup(
            self.model, lookup
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    def _own_filter_parameters(self, request):
        """The URL parameters of the list's own filters (``follow_up``)."""
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        return {
            item.parameter_name for item in list_filter
            if isinstance(item, type) and issubclass(item, SimpleListFilter)
        }
