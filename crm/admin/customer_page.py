"""The customer page's head and timeline: chat (wa.me), call (tel:) and
send-a-template buttons at the top, and the customer's deals, payments and
WhatsApp messages as one list, newest first (crm/timeline.py)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.admin.mixins import STATUS_COLOURS
from crm.admin.widgets import ReadableHistoryMixin, readable_phone
from crm.formatting import format_rupiah
from crm.models import Message, Opportunity
from crm.phones import whatsapp_chat_url
from crm.roles import visible_opportunities
from crm.timeline import DEAL, LOST, MESSAGE, PAYMENT, WON, customer_timeline

# Each kind of item: its words and its icon (Font Awesome, shipped by jazzmin).
KINDS = {
    DEAL: (_("New deal"), "fas fa-handshake", "secondary"),
    WON: (_("Deal won"), "fas fa-trophy", "success"),
    LOST: (_("Deal lost"), "fas fa-times", "danger"),
    PAYMENT: (_("Payment received"), "fas fa-money-bill-wave", "success"),
    MESSAGE: (_("WhatsApp message"), "fab fa-whatsapp", "info"),
}


class CustomerPageMixin(ReadableHistoryMixin):
    """Gives the customer admin's change page its head and timeline."""

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        if obj is not None and obj.pk is not None and not add:
            context["contact"] = self.contact_buttons(request, obj)
            context["timeline"] = self.timeline_rows(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def contact_buttons(self, request, customer):
        if not customer.phone:
            return {}
        return {
            "chat_url": whatsapp_chat_url(customer.phone),
            "call_url": f"tel:+{customer.phone}",
            "phone": readable_phone(customer.phone),
            "send_url": (
                reverse("admin:crm_customer_send_whatsapp", args=[customer.pk])
                if request.user.has_perm("crm.send_whatsapp") and not customer.whatsapp_opt_out
                else ""
            ),
        }

    def timeline_rows(self, request, customer):
        deals = visible_opportunities(request.user, Opportunity.objects.all())
        may_read_messages = request.user.has_perm("crm.view_message")
        rows = []
        for item in customer_timeline(customer, deals):
            label, icon, colour = KINDS[item.kind]
            row = {"item": item, "label": label, "icon": icon, "colour": colour, "url": ""}
            if item.amount is not None and item.kind != MESSAGE:
                row["amount"] = format_rupiah(item.amount)
            if item.opportunity_id is not None:
                row["url"] = reverse("admin:crm_opportunity_change", args=[item.opportunity_id])
            elif item.message_id is not None and may_read_messages:
                row["url"] = reverse("admin:crm_message_change", args=[item.message_id])
            if item.kind == MESSAGE:
                row["status"] = Message.Status(item.status).label if item.status else ""
                row["status_colour"] = STATUS_COLOURS.get(item.status, "secondary")
            rows.append(row)
        return rows
