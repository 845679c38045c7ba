"""The queryset of the large tables: the large-list machinery's one export
to the models.

It carries a search's ordered scan (crm/largelists/scan.py) to the
paginator, and it is how the models keep an opportunity's search text
(crm/largelists/search_text.py).
"""

from django.db import models

from crm.largelists import search_text


class ScannableQuerySet(models.QuerySet):
    """A queryset that keeps its search's ordered scan through later
    ``order_by`` and ``prefetch_related`` calls (the changelist adds them).

    Overrides two private QuerySet methods (crm/django_private.py, OVERRIDES).
    """

    ordered_scan = None

    # What an opportunity is found by, from its title and customer (for save()).
    search_text_of = staticmethod(search_text.search_text_of)

    def refresh_search_text(self):
        """Recompute these opportunities' search text in the database, in one
        UPDATE (after their customer's names or number changed, or rows were
        written without save()); returns the number of rows."""
        return search_text.refresh_search_text(self)

    def _clone(self):
        clone = super()._clone()
        clone.ordered_scan = self.ordered_scan
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        # A filter added after the search is not in the scan: drop the scan.
        clone = super()._filter_or_exclude(negate, args, kwargs)
        clone.ordered_scan = None
        return clone
