from django.contrib.admin.apps import AdminConfig


class CrmAdminConfig(AdminConfig):
    """django.contrib.admin, with our site (the dashboard on its index) as default."""

    default_site = "crm.sites.CrmAdminSite"
