"""The queryset of the large tables: it carries a search's ordered scan
(crm/largelists/search.py) to the paginator."""

from django.db import models


class ScannableQuerySet(models.QuerySet):
    """A queryset that keeps its search's ordered scan through later
    ``order_by`` and ``prefetch_related`` calls (the changelist adds them)."""

    ordered_scan = None

    def _clone(self):
        clone = super()._clone()
        clone.ordered_scan = self.ordered_scan
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        # A filter added after the search is not in the scan: drop the scan.
        clone = super()._filter_or_exclude(negate, args, kwargs)
        clone.ordered_scan = None
        return clone
