"""Opportunities in the admin: the list (stage badges, follow-ups due,
what is still owed), the change page with its payments and stage history,
and the pipeline board's pages (crm/admin/board.py)."""

from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from crm.admin.board import BoardAdminMixin
from crm.admin.deal_page import DealPageMixin
from crm.admin.mixins import IdAutocompleteSelect, OwnedRecordsMixin
from crm.admin.payments import PaymentInline, already_recorded_message, save_payments
from crm.admin.spreadsheets import SpreadsheetAdminMixin
from crm.admin.whatsapp_send import SendWhatsAppMixin, send_whatsapp
from crm.admin.widgets import PhoneFormFieldsMixin
from crm.formatting import STAGE_COLOURS, format_rupiah
from crm.largelists.changelist import LargeTableAdminMixin
from crm.largelists.search import search_opportunities
from crm.models import Customer, Opportunity, Payment, Stage, StageChange, Status, outstanding
from crm.resources import OpportunityResource
from crm.roles import visible_customers, visible_opportunities


class FollowUpListFilter(admin.SimpleListFilter):
    title = _("follow-up")
    parameter_name = "follow_up"

    def lookups(self, request, model_admin):
        return [
            ("mine_due", _("My follow-ups due today")),
            ("overdue", _("Overdue")),
            ("today", _("Today")),
            ("week", _("Next 7 days")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        open_ones = queryset.filter(status=Status.OPEN)
        if self.value() == "mine_due":
            return open_ones.filter(owner=request.user, next_step_date__lte=today)
        if self.value() == "overdue":
            return open_ones.filter(next_step_date__lt=today)
        if self.value() == "today":
            return open_ones.filter(next_step_date=today)
        if self.value() == "week":
            return open_ones.filter(
                next_step_date__gte=today, next_step_date__lt=today + timedelta(days=7)
            )
        return queryset


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fields = ["from_stage", "to_stage", "changed_at", "changed_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Opportunity)
class OpportunityAdmin(
    DealPageMixin, PhoneFormFieldsMixin, BoardAdminMixin, LargeTableAdminMixin,
    OwnedRecordsMixin, SendWhatsAppMixin, SpreadsheetAdminMixin, SimpleHistoryAdmin,
    ImportExportModelAdmin,
):
    visible = staticmethod(visible_opportunities)
    list_display = [
        "title", "customer", "amount_rupiah", "stage_badge", "owner", "expected_close_date",
        "follow_up", "outstanding_rupiah",
    ]
    list_filter = [
        "stage", "status", FollowUpListFilter, "owner", "expected_close_date",
        "fulfilment_status", "payment_status", "payment_due_date",
    ]
    list_prefetch_related = ["customer", "owner"]
    search_fields = ["title", "customer__name", "customer__phone"]
    search_help_text = _("Title, or the customer's name, business or WhatsApp number.")
    autocomplete_fields = ["customer"]
    readonly_fields = [
        "status", "closed_at", "created_at", "updated_at", "amount_paid_rupiah",
        "payment_status",
    ]
    fieldsets = [
        (None, {"fields": ["customer", "title", "amount", "owner"]}),
        (_("Pipeline"), {
            "fields": ["stage", "lost_reason", "expected_close_date", "status", "closed_at"]
        }),
        (_("Follow-up"), {"fields": ["next_step", "next_step_date"]}),
        (_("Order"), {
            "fields": ["fulfilment_status", "payment_due_date", "amount_paid_rupiah",
                       "payment_status"],
            "description": _("Once the opportunity is won: the order and its payments."),
        }),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [PaymentInline, StageChangeInline]
    # The deal's head (stepper, Won/Lost, payments) and its sections, one
    # column on a phone: crm/admin/deal_page.py.
    change_form_template = "admin/crm/opportunity/change_form.html"
    resource_classes = [OpportunityResource]
    actions = [send_whatsapp]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_rupiah(self, opportunity):
        return format_rupiah(opportunity.amount)

    # The list's stage badges by (language, stage).
    stage_badges = {}

    @admin.display(description=_("stage"), ordering="stage")
    def stage_badge(self, opportunity):
        # Six stages: each badge is written once per language, not per row
        # (the lazy label's escaping was the costly part).
        key = (get_language(), opportunity.stage)
        badge = self.stage_badges.get(key)
        if badge is None:
            colour = STAGE_COLOURS[opportunity.stage]
            badge = self.stage_badges[key] = format_html(
                '<span class="badge badge-{0} bg-{0}">{1}</span>',
                colour,
                str(Stage(opportunity.stage).label),
            )
        return badge

    @admin.display(description=_("next step"), ordering="next_step_date")
    def follow_up(self, opportunity):
        if not opportunity.next_step_date or opportunity.status != Status.OPEN:
            return opportunity.next_step or "-"
        overdue = opportunity.next_step_date < timezone.localdate()
        return format_html(
            '{} <span class="badge {}">{}</span>',
            opportunity.next_step,
            "badge-danger bg-danger" if overdue else "badge-light bg-light text-dark",
            gettext("overdue") if overdue else f"{opportunity.next_step_date:%d-%m}",
        )

    @admin.display(description=_("outstanding"))
    def outstanding_rupiah(self, opportunity):
        if opportunity.status != Status.WON:
            return "-"
        return format_rupiah(outstanding(opportunity))

    @admin.display(description=_("paid (Rp)"))
    def amount_paid_rupiah(self, opportunity):
        return format_rupiah(opportunity.amount_paid)

    def get_search_results(self, request, queryset, search_term):
        return search_opportunities(queryset, search_term), False

    def save_model(self, request, obj, form, change):
        self.assign_owner(request, obj, change)
        obj.save(changed_by=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Payment:
            return super().save_formset(request, form, formset, change)
        for payment in save_payments(formset, by=request.user):
            self.message_user(request, already_recorded_message(payment), messages.WARNING)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            # Only customers the user may see can be picked (autocomplete
            # shows no others; a posted id of another's customer is refused).
            kwargs["queryset"] = visible_customers(request.user, Customer.objects.all())
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
