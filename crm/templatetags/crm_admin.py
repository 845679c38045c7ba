from django import template
from django.utils.translation import gettext as _

from crm.formatting import format_number

register = template.Library()


@register.simple_tag
def result_count(cl):
    """A changelist's row count, Indonesian-formatted; "more than N" when capped."""
    paginator = getattr(cl, "paginator", None)
    count = format_number(cl.result_count)
    if paginator is not None and not getattr(paginator, "count_is_exact", True):
        return _("more than %(count)s") % {"count": count}
    return count
