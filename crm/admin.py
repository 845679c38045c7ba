from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.changelists import LargeTableAdminMixin
from crm.formatting import STAGE_COLOURS, format_rupiah
from crm.models import Customer, Opportunity, StageChange
from crm.phones import format_phone, whatsapp_chat_url
from crm.search import search_customers, search_opportunities


class OwnedByCurrentUserMixin:
    """New records start owned by the user who creates them."""

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("owner", request.user.pk)
        return initial


class OpportunityInline(admin.TabularInline):
    model = Opportunity
    fields = ["title", "amount", "stage", "lost_reason", "owner", "expected_close_date"]
    extra = 0
    show_change_link = True
    ordering = ["-created_at"]


@admin.register(Customer)
class CustomerAdmin(LargeTableAdminMixin, OwnedByCurrentUserMixin, admin.ModelAdmin):
    list_display = ["name", "whatsapp", "business_name", "city", "source", "created_at"]
    list_filter = ["source", "city", "whatsapp_opt_out", "owner"]
    # Shown as the search box's scope; the search itself is crm.search.
    search_fields = ["name", "phone", "business_name", "email"]
    search_help_text = _("Name, business, email, or WhatsApp number in any format.")
    fieldsets = [
        (None, {"fields": ["name", "phone", "business_name", "email", "owner"]}),
        (_("Address"), {"fields": ["address", "city"]}),
        (_("More"), {"fields": ["source", "whatsapp_opt_out", "notes"]}),
    ]
    inlines = [OpportunityInline]

    @admin.display(description=_("WhatsApp number"), ordering="phone")
    def whatsapp(self, customer):
        if not customer.phone:
            return "-"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            whatsapp_chat_url(customer.phone),
            format_phone(customer.phone),
        )

    def get_search_results(self, request, queryset, search_term):
        return search_customers(queryset, search_term), False

    def save_formset(self, request, form, formset, change):
        if formset.model is not Opportunity:
            return super().save_formset(request, form, formset, change)
        for opportunity in formset.save(commit=False):
            opportunity.save(changed_by=request.user)
        for opportunity in formset.deleted_objects:
            opportunity.delete()


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
class OpportunityAdmin(LargeTableAdminMixin, OwnedByCurrentUserMixin, admin.ModelAdmin):
    list_display = [
        "title", "customer", "amount_rupiah", "stage_badge", "owner", "expected_close_date"
    ]
    list_filter = ["stage", "status", "owner", "expected_close_date"]
    list_prefetch_related = ["customer", "owner"]
    search_fields = ["title", "customer__name", "customer__phone"]
    search_help_text = _("Title, or the customer's name, business or WhatsApp number.")
    autocomplete_fields = ["customer"]
    readonly_fields = ["status", "closed_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["customer", "title", "amount", "owner"]}),
        (_("Pipeline"), {
            "fields": ["stage", "lost_reason", "expected_close_date", "status", "closed_at"]
        }),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [StageChangeInline]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_rupiah(self, opportunity):
        return format_rupiah(opportunity.amount)

    @admin.display(description=_("stage"), ordering="stage")
    def stage_badge(self, opportunity):
        colour = STAGE_COLOURS[opportunity.stage]
        return format_html(
            '<span class="badge badge-{0} bg-{0}">{1}</span>',
            colour,
            opportunity.get_stage_display(),
        )

    def get_search_results(self, request, queryset, search_term):
        return search_opportunities(queryset, search_term), False

    def save_model(self, request, obj, form, change):
        obj.save(changed_by=request.user)
