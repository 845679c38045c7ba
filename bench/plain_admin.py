"""The baseline: Django's stock ModelAdmin on the same models (bench only).

Same list_display (the very same display methods), list_filter and
search_fields as crm/admin/, but none of crm.largelists:
full COUNT(*)s, select_related() of the foreign keys in list_display, and
``icontains`` search over every search field.
"""

from django.contrib import admin
from django.contrib.admin import AdminSite

from crm.admin.customers import CustomerAdmin
from crm.admin.opportunities import OpportunityAdmin
from crm.models import Customer, Opportunity

plain_site = AdminSite(name="plain")


class PlainCustomerAdmin(admin.ModelAdmin):
    list_display = CustomerAdmin.list_display
    list_filter = CustomerAdmin.list_filter
    search_fields = CustomerAdmin.search_fields
    search_help_text = CustomerAdmin.search_help_text
    whatsapp = CustomerAdmin.whatsapp


class PlainOpportunityAdmin(admin.ModelAdmin):
    list_display = OpportunityAdmin.list_display
    list_filter = OpportunityAdmin.list_filter
    search_fields = OpportunityAdmin.search_fields
    search_help_text = OpportunityAdmin.search_help_text
    amount_rupiah = OpportunityAdmin.amount_rupiah
    stage_badge = OpportunityAdmin.stage_badge
    follow_up = OpportunityAdmin.follow_up
    outstanding_rupiah = OpportunityAdmin.outstanding_rupiah


plain_site.register(Customer, PlainCustomerAdmin)
plain_site.register(Opportunity, PlainOpportunityAdmin)

# The rest of the admin (users, groups, tasks) as on our site, so both sites
# render the same menus and links.
for _model, _model_admin in admin.site._registry.items():
    if _model not in (Customer, Opportunity):
        plain_site.register(_model, type(_model_admin))
