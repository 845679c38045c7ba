"""The change lists' search bar on phones and desktops: the filters that are
on, each as a chip whose link takes that one filter off (the "Saring" button
counts them), and the query kept as hidden fields when searching."""

from django import template
from django.contrib.admin.views.main import SEARCH_VAR

register = template.Library()


@register.simple_tag
def active_filters(cl):
    """The list filters that are on: ``(title, value shown, URL without it)``.

    A filter's first choice is always its "All" (Django's and our filters
    alike), so its link is the list without that filter and the rest of the
    query kept.
    """
    active = []
    for spec in cl.filter_specs:
        # A filter not in the query is off: its choices (a query for some) are not read.
        if not getattr(spec, "used_parameters", None) or not spec.has_output():
            continue
        choices = list(spec.choices(cl))
        if not choices:
            continue
        for choice in choices[1:]:
            if choice.get("selected"):
                active.append((str(spec.title), str(choice["display"]),
                               choices[0]["query_string"]))
                break
    return active


@register.simple_tag
def search_removed_url(cl):
    """The list as it is without the search term."""
    return cl.get_query_string(remove=[SEARCH_VAR])


@register.simple_tag
def kept_params(cl):
    """The query's other parameters (filters, ordering), kept by a new search."""
    return [(name, value) for name, value in cl.params.items() if name != SEARCH_VAR]
