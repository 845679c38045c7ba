"""The deal (opportunity) page's head, made for one hand on a phone: the
customer with tap-to-chat and tap-to-call, the stage as a stepper, one-tap
Won and Lost (the lost reason asked in a small sheet), and what is paid and
still owed with one tap to record a payment.

Moving the stage is a POST to a small view that checks what the change page
checks (the record's visibility, the change permission) and moves through
the domain's crm.board.move_opportunity, the same rules as the board."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crm.admin.payments import RECORD_PAYMENT_PARAM
from crm.admin.widgets import ReadableHistoryMixin, readable_phone
from crm.board import move_opportunity
from crm.formatting import STAGE_COLOURS, format_rupiah
from crm.models import PaymentStatus, Stage, Status, outstanding
from crm.phones import whatsapp_chat_url

OPEN_STAGES = [Stage.PROSPECT, Stage.CONTACTED, Stage.PROPOSAL, Stage.NEGOTIATION]



@dataclass
class Step:
    stage: str
    label: str
    # "done", "current" or "todo"
    state: str

    @property
    def colour(self):
        return STAGE_COLOURS[self.stage]


def stepper(stage):
    """The open stages in order, each done, current or still to do; a closed
    deal has done them all."""
    position = OPEN_STAGES.index(stage) if stage in OPEN_STAGES else len(OPEN_STAGES)
    return [
        Step(s, str(Stage(s).label),
             "done" if i < position else "current" if i == position else "todo")
        for i, s in enumerate(OPEN_STAGES)
    ]


class DealMoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("stage"), choices=Stage.choices)
    lost_reason = forms.CharField(label=_("lost reason"), required=False, max_length=200)


class DealPageMixin(ReadableHistoryMixin):
    """Gives the opportunity admin the move view and the deal page's head."""

    def get_urls(self):
        return [
            # An id, not Django's <path:object_id>: that would also take the
            # board's own "board/move/".
            path(
                "<int:object_id>/move/",
                self.admin_site.admin_view(require_POST(self.deal_move_view)),
                name="crm_opportunity_move",
            ),
            *super().get_urls(),
        ]

    def deal_move_view(self, request, object_id):
        # get_object refuses another salesperson's deal (403), as the change page does.
        opportunity = self.get_object(request, str(object_id))
        if opportunity is None:
            raise Http404
        if not self.has_change_permission(request, opportunity):
            raise PermissionDenied
        change_url = reverse("admin:crm_opportunity_change", args=[opportunity.pk])
        form = DealMoveForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(
                message for errors in form.errors.values() for message in errors
            ))
            return redirect(change_url)
        stage = form.cleaned_data["stage"]
        try:
            move_opportunity(
                opportunity, stage, by=request.user, lost_reason=form.cleaned_data["lost_reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, gettext("“%(title)s” is now in %(stage)s.") % {
                "title": opportunity.title, "stage": Stage(stage).label,
            })
        return redirect(change_url)

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        if obj is not None and obj.pk is not None and not add:
            context["deal"] = self.deal_head(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def deal_head(self, request, opportunity):
        customer = opportunity.customer
        read_only = getattr(request, "crm_history_read_only", False)
        can_move = not read_only and self.has_change_permission(request, opportunity)
        won = opportunity.status == Status.WON
        return {
            "customer": customer,
            "customer_url": reverse("admin:crm_customer_change", args=[customer.pk]),
            "chat_url": whatsapp_chat_url(customer.phone) if customer.phone else "",
            "call_url": f"tel:+{customer.phone}" if customer.phone else "",
            "phone": readable_phone(customer.phone) if customer.phone else "",
            "amount": format_rupiah(opportunity.amount),
            "stage_label": Stage(opportunity.stage).label,
            "stage_colour": STAGE_COLOURS[opportunity.stage],
            "steps": stepper(opportunity.stage),
            "is_open": opportunity.status == Status.OPEN,
            "is_won": won,
            "is_lost": opportunity.status == Status.LOST,
            "lost_reason": opportunity.lost_reason,
            "can_move": can_move,
            "move_url": reverse("admin:crm_opportunity_move", args=[opportunity.pk]),
            "paid": format_rupiah(opportunity.amount_paid),
            "remaining": format_rupiah(outstanding(opportunity)),
            "fully_paid": opportunity.payment_status == PaymentStatus.PAID,
            "payment_status": PaymentStatus(opportunity.payment_status).label,
            "can_record_payment": (
                won and not read_only and opportunity.payment_status != PaymentStatus.PAID
                and request.user.has_perm("crm.add_payment")
                and self.has_change_permission(request, opportunity)
            ),
            # No #fragment: the browser's jump to it took the focus off the new amount.
            "record_payment_url": f"?{RECORD_PAYMENT_PARAM}=1",
            "recording_payment": RECORD_PAYMENT_PARAM in request.GET,
        }
