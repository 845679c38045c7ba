"""Every part of Django's private API the project relies on, named in one place.

A private name (a leading underscore, or internals no documentation
describes) can change in any Django release without a deprecation warning.
Each one used here was checked against Django 5.2, and
tests/test_private_django_api.py exercises each against the installed
Django: after an upgrade, a failure there names what changed.

The code calls the functions below rather than the private names. An
override (a private method Django calls on our subclass) has to stay in its
class; ``OVERRIDES`` names those classes. ``USED_ELSEWHERE`` names the
private attributes still read or written outside this module.

The row writer (crm/largelists/rows.py) also calls admin helpers that have
public names but no documentation (admin_list.results, ResultList,
result_headers, display_for_field, lookup_field, add_preserved_filters,
ChangeList.url_for_result): tests/test_changelists.py compares its rows
with Django's own on every admin list, which any change there fails.

Imports Django only: the models' queryset (crm.largelists.queryset) and the
import writer (crm.bulk_insert) sit below everything else in the project.
"""

import datetime

from django.contrib.admin import utils as admin_utils
from django.contrib.admin.templatetags import admin_list
from django.db.models.sql import InsertQuery
from django.utils import dateformat

# The Django release every entry below was read against. Another release
# fails tests/test_private_django_api.py until someone has read them again.
DJANGO_CHECKED = (5, 2)

# Private methods our classes override: Django calls them on our subclasses.
OVERRIDES = {
    # Copies a queryset for every chained call (filter, order_by,
    # prefetch_related, ...): the override carries a search's ordered scan
    # to the copy, so the changelist's later calls keep it.
    "QuerySet._clone": "crm.largelists.queryset.ScannableQuerySet",
    # What filter() and exclude() do: the override drops the scan, which
    # does not know the new condition.
    "QuerySet._filter_or_exclude": "crm.largelists.queryset.ScannableQuerySet",
    # Where bulk_create writes each batch: the override writes the INSERT
    # itself (crm/bulk_insert.py says why).
    "QuerySet._insert": "crm.bulk_insert.ImportQuerySet",
}

# Private attributes used outside this module, and the file using each.
USED_ELSEWHERE = {
    # ModelBackend's per-user cache of "app_label.codename" permissions, which
    # our one-query backend fills in its place.
    "ModelBackend: user._perm_cache": "crm/auth_backends.py",
    # Every registered ModelAdmin, by model: the page checker opens them all.
    "AdminSite._registry": "crm/management/commands/check_pages.py",
}

# The functions below, and the private names each one uses.
WRAPPED = {
    "prefetch_lookups": ("QuerySet._prefetch_related_lookups",),
    "page_of": ("Paginator._get_page",),
    "column_name": ("admin_list._coerce_field_name",),
    "list_display_field": ("admin.utils._get_non_gfk_field",),
    "date_writer": (
        "dateformat.re_formatchars", "dateformat.re_escaped", "dateformat.DateFormat",
        "dateformat.TimeFormat",
    ),
    "returns_inserted_rows": (
        "features.can_return_columns_from_insert", "features.can_return_rows_from_bulk_insert",
    ),
    "insert_sql": (
        "ops.insert_statement", "ops.bulk_insert_sql", "ops.on_conflict_suffix_sql",
        "ops.return_insert_columns",
    ),
    "fetch_returned": ("ops.fetch_returned_insert_rows",),
    "convert_returned": (
        "sql.InsertQuery", "SQLCompiler.get_converters", "SQLCompiler.apply_converters",
        "Field.get_col",
    ),
}


def prefetch_lookups(queryset):
    """The lookups given to ``queryset.prefetch_related()``, in order.

    ``QuerySet._prefetch_related_lookups`` (Django 5.2: a tuple of strings
    and Prefetch objects). The ordered scan reads a page's rows by a raw query or a new
    queryset and prefetches for them what the list asked for.
    """
    return queryset._prefetch_related_lookups


def page_of(paginator, rows, number):
    """A Page of ``paginator`` holding ``rows`` as page ``number``.

    ``Paginator._get_page(object_list, number, paginator)`` (Django 5.2), the hook
    Paginator.page() builds its Page with: the large-table paginator hands it
    rows it read itself (an ordered scan, or a search's matches by key).
    """
    return paginator._get_page(rows, number, paginator)


def column_name(name, index):
    """A list_display entry's name for its cell's ``field-<name>`` class.

    ``admin_list._coerce_field_name(field_name, field_index)`` (Django 5.2): a string as
    it is, a callable's ``__name__``, a lambda ``lambda<index>``. The row
    writer (crm/largelists/rows.py) must write the classes Django writes.
    """
    return admin_list._coerce_field_name(name, index)


def list_display_field(opts, name):
    """The model field a list_display name shows, as the admin's cells see it.

    ``admin.utils._get_non_gfk_field(opts, name)`` (Django 5.2): the field, or
    FieldDoesNotExist for a generic foreign key, a reverse relation or no
    field, or FieldIsAForeignKeyColumnName for ``<fk>_id``. The row writer
    picks a cell's writer as items_for_result does, by this.
    """
    return admin_utils._get_non_gfk_field(opts, name)


def date_writer(date_format):
    """``dateformat.format(value, date_format)`` with the format string read
    once: formats.localize() splits it and looks it up again for every value
    (15 µs a date, 5 µs this way). The row writer's dates.

    Uses the module's undocumented ``re_formatchars`` and ``re_escaped``
    (how a format splits into format characters and escaped text) and its
    ``DateFormat`` and ``TimeFormat`` classes (a method per format
    character), as ``dateformat.format`` does in Django 5.2.
    """
    pieces = []
    for index, piece in enumerate(dateformat.re_formatchars.split(str(date_format))):
        if index % 2:
            pieces.append((piece, None))
        elif piece:
            pieces.append((None, dateformat.re_escaped.sub(r"\1", piece)))

    has_time = any(name and hasattr(dateformat.TimeFormat, name) for name, _ in pieces)

    def write(value):
        if has_time and type(value) is datetime.date:
            return dateformat.format(value, date_format)  # Django's TypeError
        formatter = dateformat.DateFormat(value)
        return "".join(
            text if name is None else str(getattr(formatter, name)()) for name, text in pieces
        )

    return write


def returns_inserted_rows(connection):
    """True if the database returns an INSERT's rows, for a batch too.

    ``features.can_return_columns_from_insert`` and
    ``can_return_rows_from_bulk_insert`` (backend API, undocumented; Django 5.2): when
    bulk_create asks for the new ids, the import writer writes the batch
    itself only if the database can give them back.
    """
    features = connection.features
    return features.can_return_columns_from_insert and features.can_return_rows_from_bulk_insert


def insert_sql(connection, table, fields, row_count, *, on_conflict, update_fields,
               unique_fields, returning_fields):
    """(sql, params) of a ``row_count``-row INSERT into ``table``, as Django
    writes it; ``params`` are those of the RETURNING clause (the rows' values
    follow the VALUES placeholders).

    The backend operations' ``insert_statement``, ``bulk_insert_sql``,
    ``on_conflict_suffix_sql`` and ``return_insert_columns`` (backend API,
    undocumented), as Django 5.2's SQLInsertCompiler.as_sql calls them.
    """
    ops = connection.ops
    placeholders = ["%s"] * len(fields)
    sql = [
        ops.insert_statement(on_conflict=on_conflict),
        ops.quote_name(table),
        f"({', '.join(ops.quote_name(field.column) for field in fields)})",
        ops.bulk_insert_sql(fields, [placeholders] * row_count),
    ]
    params = []
    suffix = ops.on_conflict_suffix_sql(
        fields, on_conflict,
        [field.column for field in update_fields or ()],
        [field.column for field in unique_fields or ()],
    )
    if suffix:
        sql.append(suffix)
    if returning_fields:
        returning_sql, returning_params = ops.return_insert_columns(returning_fields)
        if returning_sql:
            sql.append(returning_sql)
            params.extend(returning_params)
    return " ".join(sql), params


def fetch_returned(connection, cursor):
    """The rows an INSERT ... RETURNING gave, as tuples.

    ``connection.ops.fetch_returned_insert_rows(cursor)`` (backend API,
    undocumented; Django 5.2).
    """
    return connection.ops.fetch_returned_insert_rows(cursor)


def convert_returned(model, using, returning_fields, rows):
    """``rows`` (returned by an INSERT into ``model``'s table) with each
    value converted as Django converts what it reads (a backend's or a
    field's ``from_db_value``).

    ``sql.InsertQuery(model).get_compiler(using)`` and the compiler's
    ``get_converters`` and ``apply_converters`` (and ``Field.get_col``), as
    Django 5.2's SQLInsertCompiler.execute_sql does for the ids bulk_create sets on the objects.
    """
    compiler = InsertQuery(model).get_compiler(using=using)
    table = model._meta.db_table
    converters = compiler.get_converters([field.get_col(table) for field in returning_fields])
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return list(rows)
