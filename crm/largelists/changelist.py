"""Admin changelists that stay fast with millions of rows.

Two costs of the stock changelist grow with the table:

* ``COUNT(*)`` of the whole (or filtered) table on every page. Here the
  count stops at ``COUNT_CAP``, and the list says "more than" past it;
* ``select_related`` on the page query. On MariaDB with 3,000,000
  opportunities, joining customer to sort the newest 100 made the server
  materialise and sort every joined row (25 s). Loading the related rows with
  ``prefetch_related`` instead costs one small query per relation, and the
  page query reads 100 entries of an index.
"""

import datetime
from html import escape as html_escape

from django.contrib.admin import helpers
from django.contrib.admin import utils as admin_utils
from django.contrib.admin.templatetags import admin_list, admin_urls
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db import models
from django.urls import NoReverseMatch
from django.utils import dateformat, formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm.roles import sees_all_records

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
    # Set per request by LargeTableAdminMixin.get_paginator; None: COUNT_CAP.
    cap = None

    # A text search's matches, when the count read them (OrderedScan.matching_pks).
    matching_pks = None

    @property
    def count_cap(self):
        return COUNT_CAP if self.cap is None else self.cap

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
        # (crm/largelists/search.py) instead of sorting every FULLTEXT match. Only for
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
                return self._get_page(rows, number, self)
        elif scan is not None:
            number = self.validate_number(number)
            rows = scan.rows_among(
                self.object_list, self.matching_pks, (number - 1) * self.per_page, self.per_page
            )
            return self._get_page(rows, number, self)
        return super().page(number)


class PrefetchingChangeList(ChangeList):
    """Loads the page's related objects one query per relation, never a JOIN."""

    def get_queryset(self, request, exclude_parameters=None):
        # Other users of the queryset (export, actions) get prefetch_related.
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.prefetch_related(*self.model_admin.list_prefetch_related)

    def get_results(self, request):
        super().get_results(request)
        if self.list_editable:  # the formset needs the page as a queryset
            return
        rows = self.result_list
        if isinstance(rows, models.QuerySet):
            rows = rows.prefetch_related(None)
        self.result_list = list(rows)
        load_related(self.result_list, self.model_admin.list_prefetch_related)


def load_related(rows, names):
    """Each row's object of the forward foreign keys ``names``, one query each.

    What prefetch_related does for them, by primary key: Django 5.2's
    prefetch filters with a tuple lookup per key (on SQLite an OR of 100
    comparisons: 8 ms of an opportunity list's 35, timed). Other lookups
    (Prefetch objects, reverse or nested relations) go through
    prefetch_related_objects.
    """
    if not rows:
        return
    others = []
    opts = rows[0]._meta
    for name in names:
        field = None
        if isinstance(name, str) and "__" not in name:
            try:
                field = opts.get_field(name)
            except FieldDoesNotExist:
                pass
        if not (isinstance(field, models.ForeignKey) and field.target_field.primary_key):
            others.append(name)
            continue
        missing = [row for row in rows if not field.is_cached(row)]
        keys = {getattr(row, field.attname) for row in missing} - {None}
        manager = field.related_model._base_manager.db_manager(rows[0]._state.db)
        found = manager.in_bulk(keys) if keys else {}
        for row in missing:
            field.set_cached_value(row, found.get(getattr(row, field.attname)))
    if others:
        models.prefetch_related_objects(rows, *others)


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

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        if not sees_all_records(request.user):
            paginator.cap = OWN_RECORDS_COUNT_CAP
        return paginator

    def action_checkbox(self, obj):
        # The same markup as the stock column, without rendering a form
        # widget through the template engine for each row: that was 28% of a
        # 100-row list page's time (profiled).
        # Written without format_html's lazy-aware escaping too (same output).
        label = _("Select this object for an action - {}").format(html_escape(str(obj)))
        return SafeString(
            f'<input type="checkbox" name="{helpers.ACTION_CHECKBOX_NAME}"'
            f' value="{html_escape(str(obj.pk))}" class="action-select" aria-label="{label}">'
        )


# --- Result rows -------------------------------------------------------------------
#
# Django's items_for_result works out each cell from scratch: it looks the
# column up on the model (raising FieldDoesNotExist for every method column),
# asks for the empty-value text, rebuilds a choices dict, reverses the change
# URL and re-parses the preserved filters for every row, and escapes through
# format_html's lazy-aware wrappers. That was most of a 100-row list's Python
# time (profiled: 30-40 of ~55 ms). result_rows() works out what a column
# needs once per page and writes each row as one string, with the same markup
# (tests/test_changelists.py compares it with Django's on every admin list).
#
# Borrowed from Django's private API: admin_list._coerce_field_name and
# admin.utils._get_non_gfk_field (tests/test_changelists.py's comparison with
# items_for_result fails if either changes).

_PK_MARKER = "crmrowpk0marker"


def _html(value):
    """conditional_escape() without the lazy-string wrappers, same output."""
    kind = type(value)
    if kind is str:
        return html_escape(value)
    if kind is SafeString:
        return value
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html_escape(str(value))


def result_rows(cl):
    """The changelist's rows for admin/change_list_results.html, as Django's
    ``results(cl)`` gives them but one safe string per row."""
    if cl.formset:  # list_editable: rows hold form fields, Django renders them
        return list(admin_list.results(cl))
    cells = _cell_writers(cl)
    return [
        admin_list.ResultList(None, [SafeString("".join([cell(result) for cell in cells]))])
        for result in cl.result_list
    ]


def _cell_writers(cl):
    writers = []
    first = True
    for index, name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            link = False
        else:
            link = (first and not cl.list_display_links) or name in cl.list_display_links
        writers.append(_cell_writer(cl, index, name, link, "th" if link and first else "td"))
        if link:
            first = False
    return writers


def _cell_writer(cl, index, name, link, tag):
    """A function writing this column's cell of a row, as items_for_result does."""
    model_admin = cl.model_admin
    default_empty = model_admin.get_empty_value_display()
    field_class = "field-" + admin_list._coerce_field_name(name, index)
    try:
        field = admin_utils._get_non_gfk_field(cl.lookup_opts, name)
    except (FieldDoesNotExist, admin_utils.FieldIsAForeignKeyColumnName):
        field = None
    wrap = _link_writer(cl, tag, field_class) if link else None

    def finish(result, result_repr, classes):
        if wrap is not None:
            return wrap(result, result_repr, classes)
        return f'<td class="{classes}">{_html(result_repr)}</td>'

    if field is None and (callable(name) or (hasattr(model_admin, name) and name != "__str__")):
        # A model admin method (or a callable): Django calls it with the row.
        attr = name if callable(name) else getattr(model_admin, name)
        empty = getattr(attr, "empty_value_display", default_empty)
        boolean = getattr(attr, "boolean", False)
        classes = "action-checkbox" if name == "action_checkbox" else field_class

        def method_cell(result):
            try:
                value = attr(result)
            except ObjectDoesNotExist:
                return finish(result, default_empty, field_class)
            kind = type(value)
            if kind is SafeString and value.strip():
                return finish(result, value, classes)
            if kind is str and value.strip():
                return finish(result, value, classes)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            result_repr = admin_utils.display_for_value(value, empty, boolean)
            if isinstance(value, (datetime.date, datetime.time)):
                return finish(result, result_repr, classes + " nowrap")
            return finish(result, result_repr, classes)

        return method_cell

    if field is None or field.auto_created:
        # A model attribute, property or related lookup: Django's own way, row by row.
        def attribute_cell(result):
            try:
                f, attr, value = admin_utils.lookup_field(name, result, model_admin)
            except ObjectDoesNotExist:
                return finish(result, default_empty, field_class)
            empty = getattr(attr, "empty_value_display", default_empty)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            boolean = getattr(attr, "boolean", False)
            if isinstance(attr, property) and hasattr(attr, "fget"):
                boolean = getattr(attr.fget, "boolean", False)
            classes = "action-checkbox" if name == "action_checkbox" else field_class
            if isinstance(value, (datetime.date, datetime.time)):
                classes += " nowrap"
            return finish(result, admin_utils.display_for_value(value, empty, boolean), classes)

        return attribute_cell

    nowrap = isinstance(field, (models.DateField, models.TimeField, models.ForeignKey))
    classes = field_class + " nowrap" if nowrap else field_class
    attname = field.name

    if isinstance(field.remote_field, models.ManyToOneRel):
        def related_cell(result):
            try:
                value = getattr(result, attname)
            except ObjectDoesNotExist:
                return finish(result, default_empty, field_class)
            return finish(result, default_empty if value is None else value, classes)

        return related_cell

    if field.flatchoices:
        try:
            # The labels in this request's language, once per page.
            labels = {value: str(label) for value, label in dict(field.flatchoices).items()}
        except TypeError:  # list-like choices: Django's way, row by row
            labels = None

        def choice_cell(result):
            value = getattr(result, attname)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if labels is None:
                result_repr = admin_utils.display_for_field(
                    value, field, default_empty, avoid_link=link
                )
            else:
                try:
                    result_repr = labels.get(value, default_empty)
                except TypeError:
                    result_repr = admin_utils.display_for_field(
                        value, field, default_empty, avoid_link=link
                    )
            return finish(result, result_repr, classes)

        return choice_cell

    if type(field) in (models.CharField, models.TextField, models.EmailField, models.SlugField):
        empty_values = field.empty_values

        def text_cell(result):
            value = getattr(result, attname)
            if type(value) is str and value.strip():
                return finish(result, value, classes)
            if isinstance(value, str) and value.strip() == "":
                value = ""
            if value in empty_values:
                return finish(result, default_empty, classes)
            return finish(result, admin_utils.display_for_value(value, default_empty), classes)

        return text_cell

    if type(field) in (models.DateTimeField, models.DateField):
        write_date = _date_writer(formats.get_format(
            "DATETIME_FORMAT" if isinstance(field, models.DateTimeField) else "DATE_FORMAT"
        ))
        local = timezone.template_localtime if isinstance(field, models.DateTimeField) else None

        def date_cell(result):
            value = getattr(result, attname)
            if value is None or type(value) is str:
                return finish(result, admin_utils.display_for_field(
                    value, field, default_empty, avoid_link=link), classes)
            if local is not None:
                value = local(value)
            return finish(result, write_date(value), classes)

        return date_cell

    def field_cell(result):
        value = getattr(result, attname)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return finish(
            result,
            admin_utils.display_for_field(value, field, default_empty, avoid_link=link),
            classes,
        )

    return field_cell


def _date_writer(date_format):
    """dateformat.format(value, date_format) with the format string read once:
    formats.localize() splits it and looks it up again for every value (15 µs
    a date, 5 µs this way)."""
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


def _link_writer(cl, tag, field_class):
    """The link column's writer: the row's change URL with the list's filters kept.

    The URL is reversed and the preserved filters merged once per page, with
    a marker where the primary key goes; a row fills its key in.
    """
    context = {"preserved_filters": cl.preserved_filters, "opts": cl.opts}
    try:
        url = cl.url_for_result(_MarkerRow(cl.pk_attname))
    except NoReverseMatch:
        url = None
    pattern = None
    if url is not None:
        url = admin_urls.add_preserved_filters(context, url)
        head, marker, tail = url.partition(_PK_MARKER)
        if marker and _PK_MARKER not in tail:
            pattern = (html_escape(head), html_escape(tail))
    value_attname = str(cl.to_field) if cl.to_field else cl.lookup_opts.pk.attname

    def wrap(result, result_repr, classes):
        pk = getattr(result, cl.pk_attname)
        if url is None:
            link = _html(result_repr)
        else:
            if pattern is not None and type(pk) is int:
                href = f"{pattern[0]}{pk}{pattern[1]}"
            else:
                try:
                    href = html_escape(
                        admin_urls.add_preserved_filters(context, cl.url_for_result(result))
                    )
                except NoReverseMatch:
                    href = None
            if href is None:
                link = _html(result_repr)
            else:
                popup = ""
                if cl.is_popup:
                    popup = format_html(
                        ' data-popup-opener="{}"', result.serializable_value(value_attname)
                    )
                link = f'<a href="{href}"{popup}>{_html(result_repr)}</a>'
        return f'<{tag} class="{classes}">{link}</{tag}>'

    return wrap


class _MarkerRow:
    """Stands in for a row in ChangeList.url_for_result: its key is the marker."""

    def __init__(self, pk_attname):
        setattr(self, pk_attname, _PK_MARKER)


def result_list(cl):
    """admin_list.result_list with the rows from result_rows(), and the table
    body written whole for admin/change_list_results.html."""
    headers = list(admin_list.result_headers(cl))
    rows = result_rows(cl)
    body = None
    if not cl.formset:
        body = SafeString("".join(
            f'<tr role="row" class="{"odd" if index % 2 else "even"}">{row[0]}</tr>\n'
            for index, row in enumerate(rows)
        ))
    return {
        "cl": cl,
        "result_hidden_fields": list(admin_list.result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
        "result_rows_html": body,
    }
