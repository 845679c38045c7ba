from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm.formatting import (
    NO_FIGURE,
    STAGE_COLOURS,
    format_number,
    format_percent,
    format_rupiah,
)
from crm.largelists import rows
from crm.sites import opportunity_list_url

register = template.Library()


@register.simple_tag
def result_count(cl):
    """A changelist's row count, Indonesian-formatted; "more than N" when capped."""
    paginator = getattr(cl, "paginator", None)
    count = format_number(cl.result_count)
    if paginator is not None and not getattr(paginator, "count_is_exact", True):
        return _("more than %(count)s") % {"count": count}
    return count


@register.tag(name="crm_result_list")
def result_list_tag(parser, token):
    """Django's {% result_list cl %} (same template, overridable per model),
    with the rows written by crm.largelists.rows.result_rows."""
    return InclusionAdminNode(
        parser, token, func=rows.result_list,
        template_name="change_list_results.html", takes_context=False,
    )


@register.filter
def rupiah(amount):
    return format_rupiah(amount)


@register.filter
def percent(value):
    return format_percent(value)


@register.filter
def number(value):
    return NO_FIGURE if value is None else format_number(value)


@register.filter
def days(value):
    """A number of days with one decimal and a decimal comma: 3,5."""
    return NO_FIGURE if value is None else f"{value:.1f}".replace(".", ",")


@register.filter
def stage_colour(stage):
    return STAGE_COLOURS.get(stage, "secondary")


@register.simple_tag(takes_context=True)
def opportunity_list(context, period=None, date_field="created_at", **lookups):
    """The opportunity list filtered to the rows behind a dashboard figure.

    ``period`` is anything with ``start`` and ``end`` (a dashboard period or a
    month, either bound None when open); its range is applied to ``date_field``.
    """
    if period is not None:
        if period.start is not None:
            lookups[f"{date_field}__gte"] = period.start.isoformat()
        if period.end is not None:
            lookups[f"{date_field}__lt"] = period.end.isoformat()
    return opportunity_list_url(context["opportunity_list_url"], **lookups)


@register.filter
def import_column(field_name):
    """A field's spreadsheet column name ("phone" -> "No HP"), for import errors."""
    from crm.resources import CUSTOMER_HEADERS, OPPORTUNITY_HEADERS

    headers = {**CUSTOMER_HEADERS, **OPPORTUNITY_HEADERS}.get(field_name)
    return headers[0] if headers else field_name


@register.filter
def import_error_message(error):
    """What an import's error says to the user: our own sentences as they
    are, never an exception's class, traceback or a library's message."""
    from crm.spreadsheets import import_error_message as message

    if isinstance(error, str):
        return error  # a preview made by the worker keeps the sentences (crm.import_preview)
    return message(getattr(error, "error", error))


@register.filter
def import_reasons(error):
    """A left-out row's reasons, each led by its column (crm.import_preview)."""
    from crm.import_preview import row_reasons

    if isinstance(error, ValidationError):
        return row_reasons(error)
    return list(getattr(error, "messages", []))
