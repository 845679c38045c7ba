"""A record's history page in the user's words: a change of stage reads
"Negosiasi → Menang", not "negotiation → won"; amounts in Rupiah, numbers as
people write them, an empty value as "-"."""

from django.utils.translation import gettext
from simple_history.template_utils import HistoricalRecordContextHelper

from crm.admin.widgets import readable_phone
from crm.formatting import format_rupiah
from crm.models import WhatsAppNumberField

EMPTY = "-"


class ReadableHistoryContextHelper(HistoricalRecordContextHelper):
    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if value is None or value == "":
            return EMPTY
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, WhatsAppNumberField):
            return readable_phone(value)
        if field.name in ("amount", "amount_paid"):
            return format_rupiah(value)
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        return super().prepare_delta_change_value(change, value)


class ReadableHistoryMixin:
    """For a SimpleHistoryAdmin: its history page's changes in readable values."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContextHelper(self.model, historical_record)
