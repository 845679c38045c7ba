"""The shell around every admin page: the one search box of the header, and
the web app manifest that lets the owner put the CRM on a phone's home screen."""

from django.conf import settings
from django.contrib.admin.sites import site as default_site
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from crm.largelists.search import search_customers, search_opportunities
from crm.models import Customer, Opportunity
from crm.roles import visible_customers, visible_opportunities

# Rows shown per kind of record; the full list is one tap away.
RESULTS_SHOWN = 8
THEME_COLOUR = "#146c43"


def search(request, admin_site=default_site):
    """Customers and deals matching ``q``, among those the user may see, with
    the same searches as their lists (number, email or words of a name)."""
    term = request.GET.get("q", "").strip()
    sections = []
    for model, visible, find, perm in (
        (Customer, visible_customers, search_customers, "crm.view_customer"),
        (Opportunity, visible_opportunities, search_opportunities, "crm.view_opportunity"),
    ):
        if not request.user.has_perm(perm):
            continue
        rows = []
        if term:
            found = find(visible(request.user, model.objects.all()), term)
            if model is Opportunity:
                found = found.select_related("customer")
            rows = list(found.order_by("-pk")[: RESULTS_SHOWN + 1])
        list_url = reverse(f"admin:crm_{model._meta.model_name}_changelist")
        sections.append({
            "title": model._meta.verbose_name_plural,
            "model": model._meta.model_name,
            "rows": rows[:RESULTS_SHOWN],
            "more": len(rows) > RESULTS_SHOWN,
            "list_url": f"{list_url}?{urlencode({'q': term})}" if term else list_url,
        })
    context = {
        **admin_site.each_context(request),
        "title": _("Search"),
        "term": term,
        "sections": sections,
    }
    return TemplateResponse(request, "admin/crm/search.html", context)


def manifest(request):
    """/manifest.webmanifest: name, icons and colours for "Add to home screen"."""
    icons = [
        {"src": static(f"crm/icons/icon-{size}.png"), "sizes": f"{size}x{size}",
         "type": "image/png", "purpose": "any maskable"}
        for size in (192, 512)
    ]
    return JsonResponse(
        {
            "name": settings.BUSINESS_NAME,
            "short_name": settings.BUSINESS_NAME[:12],
            "start_url": reverse("admin:index"),
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": THEME_COLOUR,
            "lang": settings.LANGUAGE_CODE,
            "icons": icons,
        },
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )
