"""Customers in the admin: the list (town filter, search, WhatsApp links),
the change page with their deals and latest messages, and the deleted
customers the owner brings back (crm.history)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from crm.admin.customer_page import CustomerPageMixin
from crm.admin.mixins import OwnedRecordsMixin, ReadOnlyAdminMixin
from crm.admin.spreadsheets import SpreadsheetAdminMixin
from crm.admin.whatsapp_send import SendWhatsAppMixin, send_whatsapp, send_whatsapp_page
from crm.admin.widgets import PhoneFormFieldsMixin
from crm.contacts import SpreadsheetVCF
from crm.history import deleted_records, restore_customer
from crm.largelists.changelist import LargeTableAdminMixin
from crm.largelists.search import search_customers
from crm.models import Customer, DeletedCustomer, Opportunity
from crm.phones import format_phone, whatsapp_chat_url
from crm.resources import CustomerResource
from crm.roles import sees_all_records, visible_customers, visible_opportunities


class CityListFilter(admin.AllValuesFieldListFilter):
    """The cities to filter by: those of every customer, read through the
    city index. Django's own list takes them from the user's visible
    customers, which for a salesperson meant checking each of a million
    customers for a deal of theirs (6 s a page); a town's name tells nothing
    about anyone's customers."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (
            model._default_manager.exclude(**{f"{field_path}__isnull": True})
            .order_by(field_path).values_list(field_path, flat=True).distinct()
        )


class OpportunityInline(PhoneFormFieldsMixin, admin.TabularInline):
    model = Opportunity
    fields = ["title", "amount", "stage", "lost_reason", "owner", "expected_close_date"]
    extra = 0
    show_change_link = True
    ordering = ["-created_at"]

    def get_queryset(self, request):
        # On a customer's page, only the deals the user may see.
        return visible_opportunities(request.user, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if sees_all_records(request.user) else [*readonly, "owner"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "owner" and formfield is not None:
            # The users, read once for the page: a queryset as choices is
            # read again by every row's select (a query per deal).
            formfield.choices = list(formfield.choices)
        return formfield


@admin.register(Customer)
class CustomerAdmin(
    CustomerPageMixin, PhoneFormFieldsMixin, LargeTableAdminMixin, OwnedRecordsMixin,
    SendWhatsAppMixin, SpreadsheetAdminMixin, SimpleHistoryAdmin, ImportExportModelAdmin,
):
    visible = staticmethod(visible_customers)
    list_display = ["name", "whatsapp", "business_name", "city", "source", "created_at"]
    list_filter = ["source", ("city", CityListFilter), "whatsapp_opt_out", "owner"]
    # Shown as the search box's scope; the search itself is crm.largelists.search.
    search_fields = ["name", "phone", "business_name", "email"]
    search_help_text = _("Name, business, email, or WhatsApp number in any format.")
    fieldsets = [
        (None, {"fields": ["name", "phone", "business_name", "email", "owner"]}),
        (_("Address"), {"fields": ["address", "city"]}),
        (_("More"), {"fields": ["source", "whatsapp_opt_out", "notes"]}),
    ]
    inlines = [OpportunityInline]
    resource_classes = [CustomerResource]
    # Customers also come from phones' contacts (.vcf); opportunities do not.
    import_formats = [*SpreadsheetAdminMixin.import_formats, SpreadsheetVCF]
    actions = [send_whatsapp]
    change_form_template = "admin/crm/customer/change_form.html"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/send-whatsapp/",
                self.admin_site.admin_view(self.send_whatsapp_view),
                name="crm_customer_send_whatsapp",
            ),
            *super().get_urls(),
        ]

    def send_whatsapp_view(self, request, object_id):
        customer = self.get_object(request, object_id)
        if customer is None or not self.has_view_permission(request, customer):
            raise Http404
        change_url = reverse("admin:crm_customer_change", args=[customer.pk])
        response = send_whatsapp_page(
            self, request, customers=Customer.objects.filter(pk=customer.pk),
            return_url=change_url,
        )
        return response or redirect(change_url)

    @admin.display(description=_("WhatsApp number"), ordering="phone")
    def whatsapp(self, customer):
        if not customer.phone:
            return "-"
        # Chat on every screen; on a phone's card also a tap-to-call button
        # (crm/static/crm/phone-lists.css hides it on wider screens).
        return format_html(
            '<a href="{}" class="crm-chat" target="_blank" rel="noopener noreferrer">'
            '<i class="fab fa-whatsapp" aria-hidden="true"></i> {}</a>'
            '<a href="tel:+{}" class="crm-call" aria-label="{}">'
            '<i class="fas fa-phone" aria-hidden="true"></i></a>',
            whatsapp_chat_url(customer.phone),
            format_phone(customer.phone),
            customer.phone,
            gettext("Call %(number)s") % {"number": format_phone(customer.phone)},
        )

    def get_search_results(self, request, queryset, search_term):
        return search_customers(queryset, search_term), False

    def save_formset(self, request, form, formset, change):
        if formset.model is not Opportunity:
            return super().save_formset(request, form, formset, change)
        for opportunity in formset.save(commit=False):
            if opportunity.pk is None and opportunity.owner_id is None:
                opportunity.owner = request.user
            opportunity.save(changed_by=request.user)
        for opportunity in formset.deleted_objects:
            opportunity.delete()


@admin.register(DeletedCustomer)
class DeletedCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Where the owner finds a deleted customer and brings it back."""

    list_display = ["name", "phone", "city", "history_date", "history_user"]
    search_fields = ["name", "phone"]
    actions = ["restore_customers"]

    def get_queryset(self, request):
        return deleted_records(Customer).select_related("history_user")

    def has_view_permission(self, request, obj=None):
        # Restoring needs the same trust as deleting: the owner's.
        return request.user.has_perm("crm.delete_customer") and sees_all_records(request.user)

    def has_restore_permission(self, request):
        return self.has_view_permission(request) and request.user.has_perm("crm.add_customer")

    @admin.action(permissions=["restore"], description=_("Restore with their opportunities"))
    def restore_customers(self, request, queryset):
        for record in queryset:
            try:
                count = restore_customer(record, by=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, gettext(
                    "“%(name)s” restored with %(count)d opportunities."
                ) % {"name": record.name, "count": count}, messages.SUCCESS)
