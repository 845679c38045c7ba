"""The paginator of the large lists: a count that stops at a cap.

``COUNT(*)`` of a whole (or filtered) table on every page grows with the
table. Here the count stops at ``COUNT_CAP``, and the list says "more than"
past it.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

from crm import django_private

# Counts stop here: "more than 10.000" is all a list needs to say.
COUNT_CAP = 10_000
# A salesperson's lists count to a lower cap. Each row of hers is checked for
# being hers (her customers: "is one deal of the customer hers?", a subquery
# per row), so counting a broad search or filter to 10,001 cost 170-280 ms on
# the 1M/3M benchmark data, and under load those counts kept her pages' p95
# over a second (bench/README.md, "Load"). 1,000 rows is ten pages of hers.
OWN_RECORDS_COUNT_CAP = 1_000


class LargeTablePaginator(Paginator):
    """A paginator whose count reads at most COUNT_CAP + 1 index entries.

    ``count_is_exact`` is False when the count stopped at the cap; the list
    then says "more than 10.000" and pages up to the cap.
    """

    count_is_exact = True
    # Set per request by LargeTableAdminMixin.get_paginator: the list shows
    # only the user's own records, and counts to OWN_RECORDS_COUNT_CAP.
    own_records = False

    # A text search's matches, when the count read them (OrderedScan.matching_pks).
    matching_pks = None

    @property
    def count_cap(self):
        return OWN_RECORDS_COUNT_CAP if self.own_records else COUNT_CAP

    @cached_property
    def count(self):
        cap = self.count_cap
        scan = getattr(self.object_list, "ordered_scan", None)
        if scan is not None:
            self.matching_pks = scan.matching_pks(self.object_list, cap + 1)
            capped = len(self.matching_pks)
        else:
            # COUNT over a LIMITed subquery: the database stops reading at the cap.
            capped = self.object_list.order_by()[: cap + 1].count()
        if capped > cap:
            self.count_is_exact = False
            return cap
        return capped

    def page(self, number):
        # A broad text search's first pages may be read by an ordered scan
        # (crm/largelists/scan.py) instead of sorting every FULLTEXT match. Only for
        # a word in over the cap's rows: matches are then dense enough for a
        # page to turn up within the scan's bound (when they are not, the
        # scan gives up and the FULLTEXT result is used). Fewer matches, a
        # scan would mostly miss; the count has already found them all, so
        # the page sorts just those, by primary key.
        scan = getattr(self.object_list, "ordered_scan", None)
        if scan is not None and self.count == self.count_cap and not self.count_is_exact:
            number = self.validate_number(number)
            rows = scan.rows(self.object_list, (number - 1) * self.per_page, self.per_page)
            if rows is not None:
                return django_private.page_of(self, rows, number)
        elif scan is not None:
            number = self.validate_number(number)
            rows = scan.rows_among(
                self.object_list, self.matching_pks, (number - 1) * self.per_page, self.per_page
            )
            return django_private.page_of(self, rows, number)
        return super().page(number)
