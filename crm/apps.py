from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        # Registers the deployment checks (manage.py check --deploy), and
        # connects the signals that keep the dashboard's rollups in step.
        from crm import checks, rollups  # noqa: F401
