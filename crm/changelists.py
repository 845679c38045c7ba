"""Admin changelists that stay fast with millions of rows.

Two costs of the stock changelist grow with the table:

* ``COUNT(*)`` of the whole (or filtered) table on every page. Here the
  unfiltered count is the database's own row estimate and a filtered count
  stops at ``COUNT_CAP``;
* ``select_related`` on the page query. On MariaDB with 3,000,000
  opportunities, joining customer to sort the newest 100 made the server
  materialise and sort every joined row (25 s). Loading the related rows with
  ``prefetch_related`` instead costs one small query per relation, and the
  page query reads 100 entries of an index.
"""

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Filtered counts stop here: "more than 10,000" is all a list needs to say.
COUNT_CAP = 10_000

# Below this many rows an exact count is cheap, so estimates are not used.
ESTIMATE_THRESHOLD = 100_000


def estimated_row_count(model, using):
    """The database's statistics estimate of a table's rows, or None if it has none."""
    connection = connections[using]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            cursor.execute(
                "SELECT table_rows FROM information_schema.tables"
                " WHERE table_schema = DATABASE() AND table_name = %s",
                [table],
            )
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        else:
            return None
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None


class LargeTablePaginator(Paginator):
    """A paginator whose count never scans a large table.

    ``count_is_exact`` tells the template whether to show the count as is,
    as an estimate (unfiltered list) or as "more than" (capped filtered list).
    """

    count_is_exact = True
    count_is_estimate = False

    @cached_property
    def count(self):
        queryset = self.object_list
        if not queryset.query.has_filters():
            estimate = estimated_row_count(queryset.model, queryset.db)
            if estimate is not None and estimate > ESTIMATE_THRESHOLD:
                self.count_is_exact = False
                self.count_is_estimate = True
                return estimate
        # COUNT over a LIMITed subquery: stops reading at the cap.
        capped = queryset.order_by()[: COUNT_CAP + 1].count()
        if capped > COUNT_CAP:
            self.count_is_exact = False
            return COUNT_CAP
        return capped


class PrefetchingChangeList(ChangeList):
    """Loads the page's related objects with prefetch_related, never a JOIN."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.prefetch_related(*self.model_admin.list_prefetch_related)


class LargeTableAdminMixin:
    """ModelAdmin settings for tables that grow to millions of rows."""

    paginator = LargeTablePaginator
    show_full_result_count = False
    # An empty tuple (not False) stops the changelist from adding
    # select_related() for the foreign keys in list_display.
    list_select_related = ()
    list_prefetch_related = ()

    def get_changelist(self, request, **kwargs):
        return PrefetchingChangeList
