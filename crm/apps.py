from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM")

    def ready(self):
        # Registers the deployment checks (manage.py check --deploy), and
        # connects what follows the tables' changes: the dashboard's rollups,
        # the WhatsApp notifications, the stage history. The sending task
        # registers itself with crm.whatsapp.wake, through which the modules
        # beneath it start sending.
        from crm import checks, subscribers  # noqa: F401
        from crm.whatsapp import tasks  # noqa: F401

        subscribers.connect()
