"""The changelist's rows, written whole (admin/change_list_results.html).

Django's items_for_result works out each cell from scratch: it looks the
column up on the model (raising FieldDoesNotExist for every method column),
asks for the empty-value text, rebuilds a choices dict, reverses the change
URL and re-parses the preserved filters for every row, and escapes through
format_html's lazy-aware wrappers. That was most of a 100-row list's Python
time (profiled: 30-40 of ~55 ms). result_rows() works out what a column
needs once per page and writes each row as one string, with the same markup
(tests/test_changelists.py compares it with Django's on every admin list).

Borrowed from Django's private API (crm/django_private.py): how a column's
class name is made and which field a column shows.
"""

import datetime
from html import escape as html_escape

from django.contrib.admin import utils as admin_utils
from django.contrib.admin.templatetags import admin_list, admin_urls
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from crm import django_private

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
    column = _Column(cl, index, name, link, tag)
    field = column.field
    if field is None and (
        callable(name) or (hasattr(cl.model_admin, name) and name != "__str__")
    ):
        return _method_cell(column)
    if field is None or field.auto_created:
        return _attribute_cell(column)
    if isinstance(field.remote_field, models.ManyToOneRel):
        return _related_cell(column)
    if field.flatchoices:
        return _choice_cell(column)
    if type(field) in (models.CharField, models.TextField, models.EmailField, models.SlugField):
        return _text_cell(column)
    if type(field) in (models.DateTimeField, models.DateField):
        return _date_cell(column)
    return _field_cell(column)


class _Column:
    """What a column's cells share, worked out once per page."""

    def __init__(self, cl, index, name, link, tag):
        self.name = name
        self.link = link
        self.model_admin = cl.model_admin
        self.default_empty = self.model_admin.get_empty_value_display()
        self.field_class = "field-" + django_private.column_name(name, index)
        try:
            self.field = django_private.list_display_field(cl.lookup_opts, name)
        except (FieldDoesNotExist, admin_utils.FieldIsAForeignKeyColumnName):
            self.field = None
        if self.field is None:
            self.classes = self.field_class
        else:
            nowrap = (models.DateField, models.TimeField, models.ForeignKey)
            self.classes = self.field_class + (
                " nowrap" if isinstance(self.field, nowrap) else ""
            )
        wrap = _link_writer(cl, tag, self.field_class) if link else None

        def finish(result, result_repr, classes):
            if wrap is not None:
                return wrap(result, result_repr, classes)
            return f'<td class="{classes}">{_html(result_repr)}</td>'

        self.finish = finish


def _method_cell(column):
    """A model admin method (or a callable): Django calls it with the row."""
    name, finish = column.name, column.finish
    default_empty, field_class = column.default_empty, column.field_class
    attr = name if callable(name) else getattr(column.model_admin, name)
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


def _attribute_cell(column):
    """A model attribute, property or related lookup: Django's own way, row by row."""
    name, finish, model_admin = column.name, column.finish, column.model_admin
    default_empty, field_class = column.default_empty, column.field_class

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


def _related_cell(column):
    """A foreign key: the related object (loaded by key for the page)."""
    finish, classes, attname = column.finish, column.classes, column.field.name
    default_empty, field_class = column.default_empty, column.field_class

    def related_cell(result):
        try:
            value = getattr(result, attname)
        except ObjectDoesNotExist:
            return finish(result, default_empty, field_class)
        return finish(result, default_empty if value is None else value, classes)

    return related_cell


def _choice_cell(column):
    """A field with choices: its label."""
    finish, classes, field, link = column.finish, column.classes, column.field, column.link
    attname, default_empty = field.name, column.default_empty
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


def _text_cell(column):
    """A plain text field."""
    finish, classes, field = column.finish, column.classes, column.field
    attname, default_empty, empty_values = field.name, column.default_empty, field.empty_values

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


def _date_cell(column):
    """A date or a date and time (in the current time zone)."""
    finish, classes, field, link = column.finish, column.classes, column.field, column.link
    attname, default_empty = field.name, column.default_empty
    with_time = isinstance(field, models.DateTimeField)
    write_date = django_private.date_writer(
        formats.get_format("DATETIME_FORMAT" if with_time else "DATE_FORMAT")
    )
    local = timezone.template_localtime if with_time else None

    def date_cell(result):
        value = getattr(result, attname)
        if value is None or type(value) is str:
            return finish(result, admin_utils.display_for_field(
                value, field, default_empty, avoid_link=link), classes)
        if local is not None:
            value = local(value)
        return finish(result, write_date(value), classes)

    return date_cell


def _field_cell(column):
    """Any other field: Django's display_for_field."""
    finish, classes, field, link = column.finish, column.classes, column.field, column.link
    attname, default_empty = field.name, column.default_empty

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
