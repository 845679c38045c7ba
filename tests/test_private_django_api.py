"""What the project borrows from Django's private API (crm/django_private.py)
still behaves as it relies on. A Django upgrade that changes one fails here,
by name, rather than somewhere in a list page or an import."""

import datetime
import inspect
import re
from importlib import import_module
from pathlib import Path

import django
import pytest
from django.contrib import admin
from django.contrib.admin.utils import FieldIsAForeignKeyColumnName
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import dateformat

from crm import django_private
from crm.bulk_insert import ImportQuerySet, insert_rows
from crm.largelists.queryset import ScannableQuerySet
from crm.models import Customer, Opportunity

CRM = Path(__file__).resolve().parent.parent / "crm"
SCAN = object()  # stands in for a search's OrderedScan


def _scanning(queryset):
    queryset.ordered_scan = SCAN
    return queryset


# --- Overrides --------------------------------------------------------------------


@pytest.mark.django_db
def test_clone_carries_our_attribute_through_every_chained_call():
    searched = _scanning(Customer.objects.all())
    chained = [
        searched.order_by("-created_at", "-pk"),
        searched.prefetch_related("owner"),
        searched.prefetch_related(None),
        searched.using("default"),
        searched.all(),
        searched[:10],
    ]
    assert [queryset.ordered_scan for queryset in chained] == [SCAN] * len(chained)


@pytest.mark.django_db
def test_filter_and_exclude_go_through_filter_or_exclude():
    searched = _scanning(Customer.objects.all())
    assert searched.filter(city="Blitar").ordered_scan is None
    assert searched.exclude(city="Blitar").ordered_scan is None
    assert (
        inspect.signature(ScannableQuerySet._filter_or_exclude).parameters.keys()
        == inspect.signature(QuerySet._filter_or_exclude).parameters.keys()
    )


def test_insert_is_called_by_bulk_create_with_the_arguments_we_accept():
    ours = inspect.signature(ImportQuerySet._insert)
    djangos = inspect.signature(QuerySet._insert)
    assert ours == djangos
    assert (ImportQuerySet._insert.alters_data, ImportQuerySet._insert.queryset_only) == (
        QuerySet._insert.alters_data, QuerySet._insert.queryset_only
    )


@pytest.mark.django_db
def test_bulk_create_writes_its_batches_through_our_insert(monkeypatch):
    calls = []
    insert = ImportQuerySet._insert

    def spy(self, objs, fields, **kwargs):
        calls.append((len(objs), sorted(kwargs)))
        return insert(self, objs, fields, **kwargs)

    monkeypatch.setattr(ImportQuerySet, "_insert", spy)
    groups = insert_rows(Group, [Group(name=f"g{i}") for i in range(5)], batch_size=2)
    assert [count for count, _keywords in calls] == [2, 2, 1]
    assert set(calls[0][1]) <= {
        "returning_fields", "raw", "using", "on_conflict", "update_fields", "unique_fields"
    }
    in_database = dict(Group.objects.filter(name__startswith="g").values_list("name", "pk"))
    assert {group.name: group.pk for group in groups} == in_database


# --- Wrapped ----------------------------------------------------------------------


@pytest.mark.django_db
def test_prefetch_related_lookups_hold_the_lookups_in_order():
    by_name = Prefetch("customer", queryset=Customer.objects.only("name"))
    queryset = Opportunity.objects.prefetch_related("owner").prefetch_related(by_name)
    assert django_private.prefetch_lookups(queryset) == ("owner", by_name)
    assert django_private.prefetch_lookups(queryset.prefetch_related(None)) == ()
    assert django_private.prefetch_lookups(queryset.order_by("pk")) == ("owner", by_name)


def test_get_page_builds_a_page_from_a_list_of_rows():
    paginator = Paginator(list(range(25)), 10)
    page = django_private.page_of(paginator, ["a", "b"], 3)
    assert isinstance(page, Page)
    assert (page.object_list, page.number, page.paginator) == (["a", "b"], 3, paginator)
    assert (page.has_previous(), page.has_next(), page.start_index()) == (True, False, 21)


def test_coerce_field_name_names_a_column_as_django_writes_its_class():
    def total(obj):
        return 0

    assert django_private.column_name("title", 0) == "title"
    assert django_private.column_name(total, 1) == "total"
    assert django_private.column_name(lambda obj: 0, 2) == "lambda2"


def test_get_non_gfk_field_gives_the_field_a_column_shows():
    opts = Opportunity._meta
    assert django_private.list_display_field(opts, "title") is opts.get_field("title")
    assert django_private.list_display_field(opts, "customer") is opts.get_field("customer")
    with pytest.raises(FieldIsAForeignKeyColumnName):
        django_private.list_display_field(opts, "customer_id")
    with pytest.raises(FieldDoesNotExist):
        django_private.list_display_field(Customer._meta, "opportunities")  # reverse
    with pytest.raises(FieldDoesNotExist):
        django_private.list_display_field(opts, "no_such_column")  # an admin method


@pytest.mark.parametrize("date_format", [
    "j N Y, H:i", r"\j\a\m H.i", "DATE_FORMAT", "DATETIME_FORMAT", "l, jS F Y P e",
])
def test_date_writer_writes_what_dateformat_writes(date_format, settings):
    settings.USE_TZ = False
    date_format = getattr(settings, date_format, date_format)
    written = django_private.date_writer(date_format)
    for value in (datetime.datetime(2026, 2, 3, 4, 5, 6), datetime.datetime(2026, 12, 31, 23, 0)):
        assert written(value) == dateformat.format(value, date_format)
    day = datetime.date(2026, 2, 3)
    assert django_private.date_writer("j N Y")(day) == dateformat.format(day, "j N Y")
    with pytest.raises(TypeError):
        django_private.date_writer("H:i")(datetime.date(2026, 2, 3))


def test_returns_inserted_rows_reads_the_backend_features():
    features = connection.features
    assert django_private.returns_inserted_rows(connection) == bool(
        features.can_return_columns_from_insert and features.can_return_rows_from_bulk_insert
    )
    if connection.vendor == "sqlite" or getattr(connection, "mysql_is_mariadb", False):
        assert django_private.returns_inserted_rows(connection)


def _djangos_insert(objs, fields, returning_fields, **conflict):
    query = InsertQuery(Group, **conflict)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using="default")
    compiler.returning_fields = returning_fields
    [(sql, params)] = compiler.as_sql()
    return sql, list(params)


@pytest.mark.parametrize("upsert", [False, True])
@pytest.mark.django_db
def test_insert_sql_is_the_statement_djangos_compiler_writes(upsert):
    objs = [Group(name="Sales"), Group(name="Owner")]
    name = Group._meta.get_field("name")
    returning = Group._meta.db_returning_fields
    conflict = {"on_conflict": None, "update_fields": [], "unique_fields": []}
    if upsert:
        conflict = {"on_conflict": OnConflict.UPDATE, "update_fields": [name],
                    "unique_fields": [name]}
    sql, returning_params = django_private.insert_sql(
        connection, Group._meta.db_table, [name], len(objs),
        returning_fields=returning, **conflict,
    )
    assert (sql, ["Sales", "Owner", *returning_params]) == _djangos_insert(
        objs, [name], returning, **conflict
    )


@pytest.mark.django_db
def test_returned_rows_are_fetched_and_converted_as_django_does():
    returning = Group._meta.db_returning_fields
    name = Group._meta.get_field("name")
    sql, params = django_private.insert_sql(
        connection, Group._meta.db_table, [name], 2, on_conflict=None, update_fields=None,
        unique_fields=None, returning_fields=returning,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["Group A", "Group B", *params])
        returned = django_private.fetch_returned(connection, cursor)
    rows = django_private.convert_returned(Group, "default", returning, returned)
    assert sorted(rows) == sorted(Group.objects.filter(name__startswith="Group").values_list("pk"))
    assert all(type(pk) is int for (pk,) in rows)


# --- Used elsewhere -----------------------------------------------------------------


@pytest.mark.django_db
def test_modelbackend_caches_a_users_permissions_in_perm_cache(django_user_model):
    # crm/auth_backends.py fills the same attribute in one query.
    user = django_user_model.objects.create_user("sari", is_staff=True)
    assert ModelBackend().get_all_permissions(user) == set()
    assert user._perm_cache == set()
    user._perm_cache = {"crm.view_customer"}
    assert ModelBackend().has_perm(user, "crm.view_customer")


def test_admin_site_registry_maps_each_model_to_its_model_admin():
    registry = admin.site._registry
    assert registry[Customer] is admin.site.get_model_admin(Customer)
    assert all(admin.site.is_registered(model) for model in registry)


# --- The index ----------------------------------------------------------------------


def test_the_index_was_read_against_the_installed_django():
    assert django.VERSION[:2] == django_private.DJANGO_CHECKED, (
        "Django was upgraded: read each entry of crm/django_private.py against the new "
        "release's source, then set DJANGO_CHECKED"
    )


def _class(dotted):
    module, name = dotted.rsplit(".", 1)
    return getattr(import_module(module), name)


def test_every_private_method_our_classes_override_is_in_the_index():
    overriding = {_class(dotted) for dotted in django_private.OVERRIDES.values()}
    found = {
        f"QuerySet.{name}": f"{cls.__module__}.{cls.__name__}"
        for cls in overriding
        for name in vars(cls)
        if re.fullmatch(r"_[a-z]\w*", name) and hasattr(QuerySet, name)
    }
    assert found == django_private.OVERRIDES


def test_every_wrapper_in_the_index_exists():
    assert all(callable(getattr(django_private, name)) for name in django_private.WRAPPED)


def _files_naming(identifier):
    pattern = re.compile(rf"\b{re.escape(identifier)}\b")
    return {
        str(path.relative_to(CRM.parent))
        for path in CRM.rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    }


def _module_file(dotted_class):
    return dotted_class.rsplit(".", 1)[0].replace(".", "/") + ".py"


def test_the_private_names_are_used_only_where_the_index_says():
    allowed = {}
    for api, dotted in django_private.OVERRIDES.items():
        allowed.setdefault(api.rsplit(".", 1)[1], set()).add(_module_file(dotted))
    for api, path in django_private.USED_ELSEWHERE.items():
        allowed.setdefault(api.rsplit(".", 1)[1], set()).add(path)
    for apis in django_private.WRAPPED.values():
        for api in apis:
            allowed.setdefault(api.rsplit(".", 1)[1], set())
    misplaced = {
        name: sorted(_files_naming(name) - places - {"crm/django_private.py"})
        for name, places in allowed.items()
    }
    assert {name: files for name, files in misplaced.items() if files} == {}
