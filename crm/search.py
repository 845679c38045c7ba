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
from django.db.models import BooleanField, Func, Q, Value

from crm.phones import phone_search_prefix

# Characters with a meaning in MySQL's boolean full-text syntax.
_FULLTEXT_OPERATORS = re.compile(r'[+\-<>()~*"@]+')


class FullTextMatch(Func):
    """``MATCH (columns) AGAINST (query IN BOOLEAN MODE)``, usable in filter()."""

    output_field = BooleanField()
    conditional = True

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


def boolean_fulltext_query(term):
    """Every word required, each as a prefix: ``siti kripik`` -> ``+siti* +kripik*``."""
    return " ".join(f"+{word}*" for word in _words(term))


def uses_fulltext(queryset):
    return connections[queryset.db].vendor == "mysql"


def name_filter(queryset, term, fields):
    """A Q matching ``term`` against the text ``fields`` (all words, any field)."""
    if uses_fulltext(queryset):
        return Q(FullTextMatch(*fields, query=boolean_fulltext_query(term)))
    condition = Q()
    for word in _words(term):
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


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
    """Opportunities by their customer's phone, email or name, or by their title."""
    from crm.models import Customer

    term = term.strip()
    if not term:
        return queryset
    customers = Customer.objects.using(queryset.db)
    matching_customers = customers.filter(customer_filter(customers, term)).values("pk")
    condition = Q(customer__in=matching_customers)
    if not phone_search_prefix(term) and "@" not in term:
        condition |= name_filter(queryset, term, ["title"])
    return queryset.filter(condition)
