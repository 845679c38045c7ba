"""Sending WhatsApp from the admin: the send page (a confirmation, like
Django's delete page, posted back with the selection and the text), the
lists' bulk action, and what the user is told after.

Thin: the page collects a text and calls crm.whatsapp.outbox, which owns the
rules (who is skipped and why, queueing); crm.whatsapp.sender sends.

Each template's preview is on the page from the start, with its own Send
token (see _preview_token), so picking a template shows its preview and Send
is the next tap; a token that does not match the text posted sends nothing
and shows the preview again.
"""

import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.models import MessageTemplate
from crm.sites import SEND_PERMISSION
from crm.whatsapp import outbox
from crm.whatsapp.templates import check_placeholders, render

# The templates offered with their previews on the send page.
TEMPLATES_SHOWN = 30


class SendWhatsAppForm(forms.Form):
    template = forms.ModelChoiceField(
        MessageTemplate.objects.all(), required=False, label=_("Template"),
        help_text=_("Pick a template to see its preview, or write the text below."),
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
                            initial={"request_token": _page_token(request)})
    plan = None
    changed_after_preview = False
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["text"]
        token = form.cleaned_data["request_token"]
        # A token that is not this text's (edited after its preview, or never
        # previewed) sends nothing: the page shows what would be sent.
        changed_after_preview = bool(token) and not _token_matches(token, text)
        if "confirm" in request.POST and not changed_after_preview:
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
        "changed_after_preview": changed_after_preview and "confirm" in request.POST,
        "template_choices": _template_choices(
            plan, form["request_token"].value() or "", for_opportunities
        ),
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


def _page_token(request):
    """The first token of a send page, the base of its previews' tokens.

    The page a list's action opens comes from the list's form; posted again
    (Back after sending, which reloads it) it gets the same token, so its
    previews' Send is the same send. The list's form carries a CSRF token
    masked anew each time the list is shown: a new list, a new send.
    """
    csrf = request.POST.get("csrfmiddlewaretoken", "")
    if not csrf:
        return secrets.token_urlsafe(18)
    page = "\n".join([
        csrf, request.path, request.POST.get("action", ""), request.POST.get("select_across", ""),
        *request.POST.getlist(ACTION_CHECKBOX_NAME),
    ])
    return salted_hmac("crm.whatsapp.page", page).hexdigest()[:24]


def _preview_token(posted_token, text):
    """The Send token of a preview, ``<page token>.<signature of the text>``:
    the same for the same page posted again (Back after sending makes the
    browser post the Preview again), new for a new page or a changed text,
    which is a new send. _token_matches() checks it against the text sent."""
    base = (posted_token or "").split(".")[0] or secrets.token_urlsafe(18)
    return f"{base}.{_text_signature(base, text)}"


def _text_signature(base, text):
    return salted_hmac("crm.whatsapp.preview", f"{base}\n{text}").hexdigest()[:32]


def _token_matches(token, text):
    """Whether ``token`` is the Send token of a preview of ``text``."""
    base, dot, signature = token.partition(".")
    return bool(dot) and constant_time_compare(signature, _text_signature(base, text))


def _template_choices(plan, page_token, for_opportunities):
    """Each template with the preview of its text for the first recipients and
    the Send token of that preview: picked on the page, a template shows its
    preview at once and can be sent with the next tap."""
    choices = []
    for template in MessageTemplate.objects.order_by("name")[:TEMPLATES_SHOWN]:
        try:
            check_placeholders(template.text, for_opportunities=for_opportunities)
        except ValidationError:
            continue  # a deal's placeholders in a send to customers: not offered
        choices.append({
            "template": template,
            "token": _preview_token(page_token, template.text),
            "previews": [
                (p.customer, p.opportunity, render(template.text, p.customer, p.opportunity))
                for p in plan.previews
            ],
        })
    return choices


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
