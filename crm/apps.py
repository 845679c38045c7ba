from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        # Connects the signals that keep the dashboard's rollups in step.
        from crm import rollups  # noqa: F401
        # Registers the deployment checks (manage.py check --deploy).
        from crm import checks  # noqa: F401
