"""A test-only admin site with import/export on Customer, to render those pages.

The import feature itself is a later issue; this checks the project's
templates for django-import-export 4.x under jazzmin.
"""

from django.contrib import admin
from django.urls import include, path
from import_export import resources
from import_export.admin import ImportExportModelAdmin

from crm.models import Customer
from crm.shell_views import manifest
from crm.sites import CrmAdminSite

# Our admin site class, named "admin" so the base template's links (the one
# search box among them) resolve; it replaces the real site in this urlconf.
site = CrmAdminSite(name="admin")


class CustomerResource(resources.ModelResource):
    class Meta:
        model = Customer
        fields = ["name", "phone", "city"]
        import_id_fields = ["phone"]


@admin.register(Customer, site=site)
class CustomerImportExportAdmin(ImportExportModelAdmin):
    resource_classes = [CustomerResource]


urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", site.urls),
    path("manifest.webmanifest", manifest, name="manifest"),
]
