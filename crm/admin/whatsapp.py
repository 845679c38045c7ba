"""WhatsApp's pages in the admin: the message log (why a message waits or
failed, sending again, lifting a pause), the batches sent, the templates and
the notification rules. Sending itself is crm/admin/whatsapp_send.py."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from crm.admin.mixins import ReadOnlyAdminMixin, status_badge
from crm.admin.whatsapp_send import SendWhatsAppMixin
from crm.largelists.changelist import LargeTableAdminMixin
from crm.models import Message, MessageBatch, MessageTemplate, NotificationRule
from crm.phones import format_phone, phone_search_prefix
from crm.roles import visible_batches, visible_messages
from crm.sites import SEND_PERMISSION, whatsapp_alert_context
from crm.whatsapp import outbox, outlook, pauses


class NotificationRuleListForm(forms.ModelForm):
    """A row of the rules' list: its "active" checkbox sits in a table cell
    with no label of its own, so it names its rule (screen readers, axe)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["active"].widget.attrs["aria-label"] = gettext("Active: %(rule)s") % {
            "rule": self.instance,
        }


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "template", "active"]
    list_editable = ["active"]
    list_filter = ["event", "active"]

    def get_changelist_form(self, request, **kwargs):
        kwargs.setdefault("form", NotificationRuleListForm)
        return super().get_changelist_form(request, **kwargs)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "text", "updated_at"]
    search_fields = ["name", "text"]


class BatchListFilter(admin.RelatedFieldListFilter):
    """The message log's batch filter lists the batches the user may see
    (crm.roles.visible_batches): a salesperson's own, not everyone's texts."""

    def field_choices(self, field, request, model_admin):
        batches = visible_batches(request.user, MessageBatch.objects.order_by("-pk"))
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
        return visible_messages(request.user, super().get_queryset(request))

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
        return visible_batches(request.user, batches)

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
