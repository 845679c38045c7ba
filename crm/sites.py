"""The admin site: the closing-rate dashboard and WhatsApp's sending alerts
on its index, and every registered admin guarded against unchecked input."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import path, reverse

from crm.admin_input import CheckedInputMixin
from crm.dashboard import DEFAULT_PERIOD, PERIODS, build_dashboard, period_named
from crm.lookups import ComparisonLookupsOnlyMixin
from crm.roles import sees_all_records
from crm.shell_views import search
from crm.whatsapp import outlook

# Sending WhatsApp; who holds it may also lift a pause from an alert.
SEND_PERMISSION = "crm.send_whatsapp"


class CrmAdminSite(admin.AdminSite):
    """The admin, with the closing-rate dashboard on its index page."""

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every model admin, ours and the libraries' (users, login
        # protection, tasks), takes only comparison lookups from the URL,
        # and checks what Django's admin takes unchecked (crm/admin_input.py).
        admin_class = admin_class or admin.ModelAdmin
        guarded = type(
            admin_class.__name__, (ComparisonLookupsOnlyMixin, CheckedInputMixin, admin_class),
            {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
        )
        super().register(model_or_iterable, guarded, **options)

    def get_urls(self):
        # The header's one search box: customers and deals on one page.
        return [
            path("search/", self.admin_view(self.search_view), name="search"),
            *super().get_urls(),
        ]

    def search_view(self, request):
        return search(request, admin_site=self)

    def index(self, request, extra_context=None):
        extra_context = extra_context or {}
        # WhatsApp sending paused, or no worker running: said on the first page.
        extra_context.update(whatsapp_alert_context(request, fresh=False))
        if request.user.has_perm("crm.view_opportunity"):
            key = request.GET.get("period")
            # A salesperson's dashboard counts only their own deals, read
            # from their rows of the rollups (kept per owner).
            owner_id = None if sees_all_records(request.user) else request.user.pk
            period = period_named(key if key in PERIODS else DEFAULT_PERIOD)
            extra_context["dashboard"] = build_dashboard(period, owner_id=owner_id)
            extra_context["periods"] = PERIODS
            extra_context["opportunity_list_url"] = reverse(
                "admin:crm_opportunity_changelist", current_app=self.name
            )
        return super().index(request, extra_context)


def opportunity_list_url(base, **lookups):
    """The opportunity list filtered by ``lookups`` (values None are left out)."""
    query = {key: value for key, value in lookups.items() if value is not None}
    return f"{base}?{urlencode(query)}" if query else base


def whatsapp_alert_context(request, fresh=True):
    """The sending alerts (a pause, no worker) for the dashboard and the message
    log; ``fresh=False`` may take them from a read a few seconds old."""
    if not request.user.has_perm("crm.view_message"):
        return {}
    return {
        "whatsapp_alerts": outlook.sending_alerts(fresh=fresh),
        "can_resume_sending": request.user.has_perm(SEND_PERMISSION),
        "resume_sending_url": reverse("admin:crm_message_resume_sending"),
    }
