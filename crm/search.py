"""Search that stays fast on large tables.

The stock admin search ORs ``icontains`` over every search field, which scans
the whole table. Here a term is read for what it is instead:

* something that looks like a phone number is normalised the way stored
  numbers are and matched as a prefix of the indexed phone column;
* something with an ``@`` is matched as a prefix of the indexed email column;
* anything else is matched against names with a FULLTEXT index on
  MySQL/MariaDB, and with plain ``icontains`` on other databases (SQLite
  holds demo-sized data).
"""

import re

from django.db import connections
from django.db.models import FloatField, Func, Q, Value
from django.db.models.lookups import GreaterThan

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
    words = _words(term)
    if not uses_fulltext(queryset):
        return _contains_each(words, fields)
    indexed = [word for word in words if _indexable(word)]
    if not indexed:
        # Only short words ("Bu", "Ani"): a prefix of the indexed name.
        return Q(**{f"{fields[0]}__istartswith": " ".join(words)})
    # The index finds the candidates; short words then narrow them down.
    score = FullTextScore(*fields, query=boolean_fulltext_query(indexed))
    return Q(GreaterThan(score, 0)) & _contains_each(
        [word for word in words if not _indexable(word)], fields
    )


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
    if not term.strip():
        return queryset
    return queryset.filter(customer_filter(queryset, term))


def search_opportunities(queryset, term):
    """Opportunities by their customer's phone or email, or by words of their
    title or their customer's name or business (one indexed search text)."""
    from crm.models import Customer

    term = term.strip()
    if not term:
        return queryset
    if phone_search_prefix(term) or "@" in term:
        customers = Customer.objects.using(queryset.db)
        matching = customers.filter(customer_filter(customers, term)).values("pk")
        return queryset.filter(customer__in=matching)
    return queryset.filter(name_filter(queryset, term, ["search_text"]))
