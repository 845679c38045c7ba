"""Search that stays fast on large tables.

The stock admin search ORs ``icontains`` over every search field, which scans
the whole table. Here a term is read for what it is instead:

* something that looks like a phone number is normalised the way stored
  numbers are and matched as a prefix of the indexed phone column;
* something with an ``@`` is matched as a prefix of the indexed email column;
* anything else is matched against names with a FULLTEXT index on
  MySQL/MariaDB, and with plain ``icontains`` on other databases (SQLite
  holds demo-sized data).

A FULLTEXT search costs in proportion to the rows it matches: "Siti" matches
74,000 of 3,000,000 opportunities, and sorting them to show the newest 100
took 0.3 s. Such a common word is found sooner by walking the list's own
sort index from the newest row and stopping at the 100th match, which
MariaDB can bound (``LIMIT … ROWS EXAMINED``). So the first pages of a text
search on MariaDB try that ordered scan first, and fall back to the FULLTEXT
result when the scan stops early (a rare word: FULLTEXT is fast there). The
count stays a capped FULLTEXT lookup, which reads the matching primary keys:
below the cap, a page sorts just those rows instead of running the FULLTEXT
lookup again.
"""

import re

from django.db import connections
from django.db.models import FloatField, Func, Q, Value
from django.db.models.lookups import GreaterThan

from crm.largelists.queryset import ScannableQuerySet
from crm.largelists.scan import OrderedScan
from crm.phones import phone_search_prefix

# Characters with a meaning in MySQL's boolean full-text syntax.
_FULLTEXT_OPERATORS = re.compile(r'[+\-<>()~*"@]+')


class FullTextScore(Func):
    """``MATCH (columns) AGAINST (query IN BOOLEAN MODE)``: a row's relevance.

    Filter with ``GreaterThan(FullTextScore(...), 0)``: Django compares a
    bare conditional expression with ``= TRUE`` on MySQL, which is false for
    a relevance like 0.09; ``> 0`` still uses the FULLTEXT index.
    """

    output_field = FloatField()

    def __init__(self, *columns, query):
        super().__init__(*columns, Value(query))

    def as_sql(self, compiler, connection, **extra_context):
        raise NotImplementedError("FULLTEXT search is only used on MySQL/MariaDB.")

    def as_mysql(self, compiler, connection, **extra_context):
        *columns, query = self.get_source_expressions()
        column_sql, params = [], []
        for column in columns:
            sql, column_params = compiler.compile(column)
            column_sql.append(sql)
            params.extend(column_params)
        query_sql, query_params = compiler.compile(query)
        sql = f"MATCH ({', '.join(column_sql)}) AGAINST ({query_sql} IN BOOLEAN MODE)"
        return sql, (*params, *query_params)


def _words(term):
    return _FULLTEXT_OPERATORS.sub(" ", term).split()


# InnoDB indexes no word shorter than innodb_ft_min_token_size (3) and none
# of its default stopwords; a required one ("+bu*") makes every search fail.
FULLTEXT_MIN_WORD_LENGTH = 3
INNODB_STOPWORDS = {
    "about", "are", "com", "for", "from", "how", "that", "the", "this", "was", "what",
    "when", "where", "who", "will", "with", "und", "www",
}


def _indexable(word):
    return len(word) >= FULLTEXT_MIN_WORD_LENGTH and word.lower() not in INNODB_STOPWORDS


def boolean_fulltext_query(words):
    """Every word required, each as a prefix: ``siti kripik`` -> ``+siti* +kripik*``."""
    return " ".join(f"+{word}*" for word in words)


def _contains_each(words, fields):
    condition = Q()
    for word in words:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


def uses_fulltext(queryset):
    return connections[queryset.db].vendor == "mysql"


def name_filter(queryset, term, fields):
    """A Q matching ``term`` against the text ``fields`` (all words, any field)."""
    return _name_filters(queryset, term, fields)[0]


def _name_filters(queryset, term, fields):
    """(the Q to filter with, the same condition for an ordered scan or None)."""
    words = _words(term)
    if not uses_fulltext(queryset):
        return _contains_each(words, fields), None
    indexed = [word for word in words if _indexable(word)]
    if not indexed:
        # Only short words ("Bu", "Ani"): a prefix of the indexed name.
        return Q(**{f"{fields[0]}__istartswith": " ".join(words)}), None
    short_words = _contains_each([word for word in words if not _indexable(word)], fields)
    # The index finds the candidates; short words then narrow them down.
    score = FullTextScore(*fields, query=boolean_fulltext_query(indexed))
    # The same words for a row-by-row check: a word starting with each one,
    # as the FULLTEXT prefix search (+word*) matches.
    starts_a_word = Q()
    for word in indexed:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__iregex": r"\b" + re.escape(word)})
        starts_a_word &= any_field
    return Q(GreaterThan(score, 0)) & short_words, starts_a_word & short_words


def customer_filter(queryset, term):
    """A Q finding customers by phone, email, or name and business name."""
    term = term.strip()
    prefix = phone_search_prefix(term)
    if prefix:
        # istartswith, not startswith: MySQL's startswith is LIKE BINARY,
        # which cannot use the index of a case-insensitive column.
        return Q(phone__istartswith=prefix)
    if "@" in term:
        return Q(email__istartswith=term)
    return name_filter(queryset, term, ["name", "business_name"])


def search_customers(queryset, term):
    term = term.strip()
    if not term:
        return queryset
    if phone_search_prefix(term) or "@" in term:
        return queryset.filter(customer_filter(queryset, term))
    return _scannable_search(queryset, *_name_filters(queryset, term, ["name", "business_name"]))


def _scannable_search(queryset, condition, scan_condition):
    """``queryset`` filtered by ``condition``, carrying an ordered scan of the
    same search when there is one (see ``LargeTablePaginator.page``)."""
    found = queryset.filter(condition)
    if scan_condition is not None and isinstance(found, ScannableQuerySet):
        found.ordered_scan = OrderedScan(queryset, scan_condition)
    return found


def search_opportunities(queryset, term):
    """Opportunities by their customer's email or number, or by words of
    their title or their customer's name or business (one indexed search
    text)."""
    term = term.strip()
    if not term:
        return queryset
    if "@" in term:
        customers = _customers_of(queryset)
        matching = customers.filter(customer_filter(customers, term)).values("pk")
        return queryset.filter(customer__in=matching)
    prefix = phone_search_prefix(term)
    if prefix:
        # The customers' phone index finds and counts them (a FULLTEXT prefix
        # search over thousands of distinct numbers cost 105 ms just to count
        # to the cap; this, 12 ms). The number is also the last word of the
        # search text, which an ordered scan can check row by row.
        customers = _customers_of(queryset).filter(phone__istartswith=prefix)
        return _scannable_search(
            queryset,
            Q(customer__in=customers.values("pk")),
            Q(search_text__regex=rf"\b{prefix}[0-9]*$"),
        )
    return _scannable_search(queryset, *_name_filters(queryset, term, ["search_text"]))


def _customers_of(opportunities):
    """All customers, from the opportunities' database (read through the
    foreign key: this package imports no model)."""
    customer = opportunities.model._meta.get_field("customer").related_model
    return customer._default_manager.using(opportunities.db)
