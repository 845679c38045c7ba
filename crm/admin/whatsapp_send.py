"""Sending WhatsApp from the admin: the send page (a confirmation, like
Django's delete page, posted back with the selection and the text), the
lists' bulk action, and what the user is told after.

Thin: the page collects a text and calls crm.whatsapp.outbox, which owns the
rules (who is skipped and why, queueing); crm.whatsapp.sender sends.
"""

import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.crypto import salted_hmac
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.models import MessageTemplate
from crm.sites import SEND_PERMISSION
from crm.whatsapp import outbox
from crm.whatsapp.templates import check_placeholders


class SendWhatsAppForm(forms.Form):
    template = forms.ModelChoiceField(
        MessageTemplate.objects.all(), required=False, label=_("Template"),
        help_text=_("Pick a template and press Preview, or write the text below."),
        widget=forms.Select(attrs={"class": "form-control"}),
    )
    text = forms.CharField(
        label=_("Message"), required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}),
    )
    # One per preview shown: "Send" posted twice from it sends once.
    request_token = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, for_opportunities=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.for_opportunities = for_opportunities

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("text", "").strip() and cleaned.get("template"):
            cleaned["text"] = cleaned["template"].text
        if not cleaned.get("text", "").strip():
            raise ValidationError(_("Write a message or pick a template."))
        try:
            check_placeholders(cleaned["text"], for_opportunities=self.for_opportunities)
        except ValidationError as error:
            self.add_error("text", error)
        return cleaned


def send_whatsapp_page(model_admin, request, *, customers=None, opportunities=None,
                       selected_ids=None, return_url=None):
    """The confirmation page of a send, and the send itself when confirmed.

    Like Django's delete confirmation: the selection is posted back with the
    text; nothing is queued until "Send" is pressed.
    """
    if not request.user.has_perm(SEND_PERMISSION):
        raise PermissionDenied
    for_opportunities = opportunities is not None
    posted = "text" in request.POST or "template" in request.POST
    form = SendWhatsAppForm(request.POST if posted else None, for_opportunities=for_opportunities,
                            initial={"request_token": secrets.token_urlsafe(24)})
    plan = None
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["text"]
        if "confirm" in request.POST:
            batch = outbox.queue_messages(
                text, by=request.user, customers=customers, opportunities=opportunities,
                template=form.cleaned_data["template"],
                request_token=form.cleaned_data["request_token"],
            )
            if getattr(batch, "repeated", False):
                model_admin.message_user(request, _repeated_message(batch), messages.WARNING)
            else:
                model_admin.message_user(
                    request, _queued_message(batch),
                    messages.SUCCESS if batch.queued_count else messages.WARNING,
                )
            return None
        plan = outbox.plan_messages(text, customers=customers, opportunities=opportunities)
        # Show the text the template filled in, ready to edit, with the token
        # of this preview: see _preview_token().
        form = SendWhatsAppForm(
            {"template": request.POST.get("template", ""), "text": text,
             "request_token": _preview_token(form.cleaned_data["request_token"], text)},
            for_opportunities=for_opportunities,
        )
        form.is_valid()
    if plan is None:
        plan = outbox.plan_messages("", customers=customers, opportunities=opportunities)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Send WhatsApp"),
        "opts": model_admin.model._meta,
        "form": form,
        "plan": plan,
        "previewed": form.is_bound and form.is_valid(),
        "selected_ids": selected_ids,
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "action": request.POST.get("action", ""),
        "index": request.POST.get("index", "0"),
        "return_url": return_url,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/crm/send_whatsapp.html", context)


def _preview_token(posted_token, text):
    """The Send token of a preview: the same for the same page posted again
    (Back after sending makes the browser post the Preview again), new for a
    new page or a changed text, which is a new send."""
    if not posted_token:
        return secrets.token_urlsafe(24)
    return salted_hmac("crm.whatsapp.preview", f"{posted_token}\n{text}").hexdigest()[:32]


def _repeated_message(batch):
    """What the first post of this confirmation did, for a second post of it."""
    queued_at = timezone.localtime(batch.created_at)
    when = formats.time_format(queued_at)
    if queued_at.date() != timezone.localdate():
        when = f"{formats.date_format(queued_at, 'SHORT_DATE_FORMAT')} {when}"
    return format_html(
        '{} <a href="{}?batch__id__exact={}">{}</a>',
        ngettext(
            "Already sent: %(count)d WhatsApp message was queued at %(time)s; "
            "nothing was sent again.",
            "Already sent: %(count)d WhatsApp messages were queued at %(time)s; "
            "nothing was sent again.",
            batch.queued_count,
        ) % {"count": batch.queued_count, "time": when},
        reverse("admin:crm_message_changelist"), batch.pk,
        gettext("See the messages"),
    )


def _queued_message(batch):
    if not batch.queued_count and not batch.skipped_count:
        return gettext("No WhatsApp message was queued: none of the selected records is "
                       "yours to message.")
    text = ngettext(
        "%(count)d WhatsApp message queued; it is sent in the background.",
        "%(count)d WhatsApp messages queued; they are sent in the background.",
        batch.queued_count,
    ) % {"count": batch.queued_count}
    if batch.skipped_count:
        text += " " + ngettext(
            "%(count)d customer skipped (no number, opted out or invalid).",
            "%(count)d customers skipped (no number, opted out or invalid).",
            batch.skipped_count,
        ) % {"count": batch.skipped_count}
    return text


@admin.action(permissions=["send_whatsapp"], description=_("Send WhatsApp"))
def send_whatsapp(model_admin, request, queryset):
    """The customer and opportunity lists' bulk send (opportunities: to their customers)."""
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    kind = "opportunities" if queryset.model._meta.model_name == "opportunity" else "customers"
    return send_whatsapp_page(
        model_admin, request, **{kind: queryset},
        selected_ids=selected if request.POST.get("select_across") != "1" else None,
    )


class SendWhatsAppMixin:
    """Gives a ModelAdmin the send_whatsapp action and its permission."""

    def has_send_whatsapp_permission(self, request):
        return request.user.has_perm(SEND_PERMISSION)
