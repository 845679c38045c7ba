"""WhatsApp in the admin: templates, the outbox log, and the send pages.

Thin: the pages collect a text and call crm.whatsapp.sender, which owns the
rules (who is skipped and why, queueing, sending).
"""

import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.crypto import salted_hmac
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.largelists.changelist import LargeTableAdminMixin
from crm.models import Customer, Message, MessageBatch, MessageTemplate, NotificationRule
from crm.phones import format_phone, phone_search_prefix
from crm.roles import sees_all_records, visible_customers
from crm.whatsapp import outbox, outlook, pauses
from crm.whatsapp.templates import check_placeholders

SEND_PERMISSION = "crm.send_whatsapp"
STATUS_COLOURS = {
    "queued": "secondary", "sending": "info", "sent": "primary",
    "delivered": "success", "failed": "danger", "unknown": "warning",
}


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


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "template", "active"]
    list_editable = ["active"]
    list_filter = ["event", "active"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "text", "updated_at"]
    search_fields = ["name", "text"]


class ReadOnlyAdminMixin:
    """A log or a record kept by the app: read in the admin, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def status_badge(status, label):
    return format_html(
        '<span class="badge badge-{}">{}</span>', STATUS_COLOURS.get(status, "secondary"), label
    )


class BatchListFilter(admin.RelatedFieldListFilter):
    """The message log's batch filter lists the batches the user may see
    (MessageBatchAdmin's rule): a salesperson's own, not everyone's texts."""

    def field_choices(self, field, request, model_admin):
        batches = MessageBatch.objects.order_by("-pk")
        if not sees_all_records(request.user):
            batches = batches.filter(created_by=request.user)
        return [(batch.pk, str(batch)) for batch in batches]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, SendWhatsAppMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at", "customer", "whatsapp", "status_label", "why", "attempts", "short_text",
        "batch", "sent_at",
    ]
    list_filter = ["status", ("batch", BatchListFilter)]
    list_prefetch_related = ["customer", "batch"]
    search_fields = ["phone", "gateway_id"]
    search_help_text = _("WhatsApp number in any format, or the gateway's message id.")
    actions = ["requeue_messages"]
    fields = [
        "customer", "opportunity", "batch", "phone", "text", "status", "why", "attempts",
        "reference", "gateway_id", "error", "queued_by", "created_at", "send_after",
        "claimed_at", "checked_at", "sent_at", "delivered_at",
    ]
    readonly_fields = ["why", "reference"]

    def get_queryset(self, request):
        messages_ = super().get_queryset(request)
        if sees_all_records(request.user):
            return messages_
        customers = visible_customers(request.user, Customer.objects.all())
        return messages_.filter(customer__in=customers.values("pk"))

    @admin.display(description=_("WhatsApp number"), ordering="phone")
    def whatsapp(self, message):
        return format_phone(message.phone)

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, message):
        return status_badge(message.status, message.get_status_display())

    @admin.display(description=_("text"))
    def short_text(self, message):
        return message.text if len(message.text) <= 60 else message.text[:57] + "…"

    @admin.display(description=_("why"))
    def why(self, message):
        # The list reads what holds messages back once per page (get_changelist_instance).
        if not hasattr(message, "why_text"):
            message.why_text = outlook.why(message, outlook.Outlook.current())
        return message.why_text

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        current = outlook.Outlook.current()
        for message in changelist.result_list:
            message.why_text = outlook.why(message, current)
        return changelist

    def changelist_view(self, request, extra_context=None):
        state = pauses.sending_state()
        extra_context = {
            **(extra_context or {}),
            **whatsapp_alert_context(request),
            "whatsapp_quota": state if state.quota_per_month else None,
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        resume = path("resume-sending/", self.admin_site.admin_view(self.resume_sending_view),
                      name="crm_message_resume_sending")
        return [resume, *super().get_urls()]

    def resume_sending_view(self, request):
        """"Coba lagi": lift a pause at once (POST, CSRF-checked by admin_view)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied
        pauses.resume_sending()
        self.message_user(request, gettext(
            "Sending resumed. If KirimWA still refuses, it pauses again and says why."
        ), messages.SUCCESS)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:crm_message_changelist", current_app=self.admin_site.name)
        return HttpResponseRedirect(target)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        prefix = phone_search_prefix(term)
        if prefix:
            return queryset.filter(phone__startswith=prefix), False
        return queryset.filter(gateway_id=term), False

    @admin.action(permissions=["send_whatsapp"], description=_("Send failed messages again"))
    def requeue_messages(self, request, queryset):
        # Unknown ones are left alone on purpose: the customer may have them.
        failed = queryset.filter(status=Message.Status.FAILED)
        not_received = failed.filter(reason=Message.Reason.NOT_RECEIVED).count()
        if not_received and "confirm" not in request.POST:
            # KirimWA showed no trace of these, yet cannot prove it never had
            # them: resending takes one explicit confirmation.
            return TemplateResponse(request, "admin/crm/message/requeue_confirmation.html", {
                **self.admin_site.each_context(request),
                "title": gettext("Send again?"),
                "opts": self.model._meta,
                "not_received": not_received,
                "count": failed.count(),
                "selected_ids": request.POST.getlist(ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "media": self.media,
            })
        count = outbox.requeue(failed)
        self.message_user(request, ngettext(
            "%(count)d failed message queued again.",
            "%(count)d failed messages queued again.",
            count,
        ) % {"count": count}, messages.SUCCESS)


def whatsapp_alert_context(request, fresh=True):
    """The sending alerts (a pause, no worker) for the dashboard and the message
    log; ``fresh=False`` may take them from a read a few seconds old."""
    if not request.user.has_perm("crm.view_message"):
        return {}
    return {
        "whatsapp_alerts": outlook.sending_alerts(fresh=fresh),
        "can_resume_sending": request.user.has_perm(SEND_PERMISSION),
        "resume_sending_url": reverse("admin:crm_message_resume_sending"),
    }


@admin.register(MessageBatch)
class MessageBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__", "created_by", "short_text", "queued_count", "skipped_count", "outcome",
    ]
    fields = ["created_by", "created_at", "template", "text", "queued_count", "skipped_count"]

    def get_queryset(self, request):
        counts = {
            status: Count("messages", filter=Q(messages__status=status))
            for status in Message.Status.values
        }
        batches = super().get_queryset(request).select_related("created_by").annotate(**counts)
        # A salesperson sees the batches they sent.
        return batches if sees_all_records(request.user) else batches.filter(
            created_by=request.user
        )

    @admin.display(description=_("text"))
    def short_text(self, batch):
        return batch.text if len(batch.text) <= 60 else batch.text[:57] + "…"

    @admin.display(description=_("outcome"))
    def outcome(self, batch):
        url = reverse("admin:crm_message_changelist")
        return format_html_join(
            " ",
            '<a href="{}?batch__id__exact={}&amp;status__exact={}">{}</a>',
            (
                (url, batch.pk, status, status_badge(status, f"{label}: {getattr(batch, status)}"))
                for status, label in Message.Status.choices
                if getattr(batch, status)
            ),
        )
