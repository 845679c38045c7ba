"""The WhatsApp outbox: templates, batches, one row per message, and the
shared sending state that keeps every worker within the ban-safe limits.

Part of the models package (crm/models/), so these are models of the ``crm`` app.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models.fields import WhatsAppNumberField
from crm.whatsapp.templates import check_placeholders


class MessageTemplate(models.Model):
    """A reusable message with placeholders such as {nama} or {judul}."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    text = models.TextField(
        _("text"),
        help_text=_(
            "Placeholders: {nama}/{name}, {usaha}/{business}, {kota}/{city}; for "
            "opportunities also {judul}/{title} and {nilai}/{amount}."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        try:
            check_placeholders(self.text)
        except ValidationError as error:
            raise ValidationError({"text": error.messages}) from error


class MessageBatch(models.Model):
    """One bulk send: who queued it, what text, how many went out or were skipped."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("queued by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("queued at"), default=timezone.now, db_index=True)
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(_("text"))
    queued_count = models.PositiveIntegerField(_("queued"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    # The confirmation form's one-time token: the same form posted twice (a
    # double tap, Back and Send again) finds this batch instead of sending again.
    request_token = models.CharField(max_length=64, unique=True, null=True, blank=True,
                                     editable=False)

    class Meta:
        verbose_name = _("WhatsApp batch")
        verbose_name_plural = _("WhatsApp batches")
        ordering = ["-created_at"]

    def __str__(self):
        return f"#{self.pk} {timezone.localtime(self.created_at):%d-%m-%Y %H:%M}"


class Message(models.Model):
    """One WhatsApp message to one customer, from queued to delivered or failed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        # The gateway may or may not have it: settled by its status, never by resending.
        UNKNOWN = "unknown", _("Unknown")

    class Reason(models.TextChoices):
        """Why a message failed or is unknown, in words the owner can act on."""

        NOT_RECEIVED = "not_received", _("Not received by KirimWA: it has no trace of it")
        UNCONFIRMED = "unconfirmed", _("Sent, but KirimWA's answer was lost: checking with it")
        WORKER_STOPPED = "worker_stopped", _(
            "The sender stopped while sending: checking with KirimWA"
        )
        UNDELIVERABLE = "undeliverable", _("KirimWA could not deliver it")
        REFUSED = "refused", _("KirimWA refused the message (number or text)")
        BUSY = "busy", _("KirimWA stayed busy or unreachable after every try")
        NOT_CONFIGURED = "not_configured", _(
            "KirimWA is not set up: set KIRIMWA_API_TOKEN and KIRIMWA_DEVICE_ID"
        )
        OPTED_OUT = "opted_out", _("The customer opted out of WhatsApp messages")

    # The customer it goes to; or none, for a salesperson's own digest (staff).
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="whatsapp_messages",
        db_index=False,  # indexed by msg_customer_created
        null=True,
        blank=True,
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("salesperson"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    opportunity = models.ForeignKey(
        "crm.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="whatsapp_messages",
    )
    batch = models.ForeignKey(
        MessageBatch,
        verbose_name=_("batch"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # indexed by msg_batch_status
    )
    phone = models.CharField(_("WhatsApp number"), max_length=20)
    text = models.TextField(_("text"))
    # An automatic notification's event ("rule 3: won: opportunity 42"): unique,
    # so an event that happens twice, or two schedulers at once, queue it once.
    event_key = models.CharField(max_length=100, null=True, blank=True, unique=True,
                                 editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    gateway_id = models.CharField(_("gateway id"), max_length=64, blank=True, default="")
    # Our own name for the latest attempt, written before the request goes out
    # ("crm-<pk>-<attempt>"): the log line and the settling refer to it.
    reference = models.CharField(_("reference"), max_length=40, blank=True, default="",
                                 editable=False)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True,
                              default="")
    error = models.TextField(_("technical detail"), blank=True, default="")
    # When KirimWA was last asked about an unknown message.
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    queued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("queued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    # Not before this moment: a retry's backoff.
    send_after = models.DateTimeField(_("send after"), default=timezone.now)
    # When a worker last claimed it: the rate limit and stale-claim recovery read it.
    claimed_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp message")
        verbose_name_plural = _("WhatsApp messages")
        ordering = ["-created_at", "-pk"]
        permissions = [("send_whatsapp", _("Can send WhatsApp messages"))]
        indexes = [
            # Workers claiming the next due message.
            models.Index(fields=["status", "send_after"], name="msg_status_due"),
            # Stale claims, and the unknown ones whose status is checked.
            models.Index(fields=["status", "claimed_at"], name="msg_status_claimed"),
            # Webhooks and status checks find a message by the gateway's id.
            models.Index(fields=["gateway_id"], name="msg_gateway_id"),
            models.Index(fields=["customer", "created_at"], name="msg_customer_created"),
            models.Index(fields=["batch", "status"], name="msg_batch_status"),
            # The list, newest first.
            models.Index(fields=["created_at"], name="msg_created"),
        ]

    def __str__(self):
        return f"{self.phone}: {self.text[:40]}"


class SendingState(models.Model):
    """The one row every worker locks to decide whether a message may go now.

    It carries what the ban-safe limits need across workers and machines:
    the earliest moment of the next send (rate and jitter) and today's count
    (the daily cap).
    """

    next_send_at = models.DateTimeField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)
    sent_on_day = models.PositiveIntegerField(default=0)
    # When a sending task is already scheduled to wake, so waiting work
    # does not pile up one scheduled task per batch.
    wake_at = models.DateTimeField(null=True, blank=True)
    # When a sending task last showed it was alive: workers restart sending
    # when it has been silent too long (its worker was killed).
    sender_seen_at = models.DateTimeField(null=True, blank=True)
    # Sending paused for every worker: one of gateway.PAUSE_*, since when,
    # KirimWA's own words, and when a probe last asked whether it is over.
    paused_reason = models.CharField(max_length=20, blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_detail = models.TextField(blank=True, default="")
    probed_at = models.DateTimeField(null=True, blank=True)
    # The month's usage, as GET /v1/quotas last said.
    quota_sent = models.PositiveIntegerField(null=True, blank=True)
    quota_per_month = models.PositiveIntegerField(null=True, blank=True)
    quota_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("WhatsApp sending state")
        verbose_name_plural = _("WhatsApp sending state")

    def __str__(self):
        return f"{self.day}: {self.sent_on_day}"


class NotificationRule(models.Model):
    """An automatic WhatsApp message to the customer when something happens."""

    class Event(models.TextChoices):
        WON = "won", _("Opportunity won (order confirmation)")
        ORDER_DONE = "order_done", _("Order marked done")
        PAYMENT_RECEIVED = "payment_received", _("Payment recorded (receipt)")
        PAYMENT_DUE = "payment_due", _("Payment due date, while unpaid (reminder)")

    event = models.CharField(_("when"), max_length=20, choices=Event.choices)
    days = models.SmallIntegerField(
        _("days from the due date"), default=0,
        help_text=_("Reminders only: -3 is three days before the due date, 1 the day after."),
    )
    template = models.ForeignKey(
        MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(_("on"), default=True)

    class Meta:
        verbose_name = _("automatic notification")
        verbose_name_plural = _("automatic notifications")
        ordering = ["event", "days"]

    def __str__(self):
        if self.event == self.Event.PAYMENT_DUE:
            return f"{self.get_event_display()} ({self.days:+d})"
        return self.get_event_display()


class ScheduledRun(models.Model):
    """A periodic job's run for one day: unique, so it runs once per day even
    when several workers or a cron start it at the same time."""

    job = models.CharField(max_length=50)
    day = models.DateField()
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="scheduledrun_once")]

    def __str__(self):
        return f"{self.job} {self.day}"


class StaffProfile(models.Model):
    """What the CRM knows of a user beyond Django's user: their own WhatsApp
    number, for the morning digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_profile"
    )
    # Stored normalised, NULL when blank (as a customer's number).
    whatsapp = WhatsAppNumberField(
        _("own WhatsApp number"),
        help_text=_("For the morning digest of follow-ups and overdue payments."),
    )
    daily_digest = models.BooleanField(_("morning digest"), default=True)

    class Meta:
        verbose_name = _("WhatsApp profile")
        verbose_name_plural = _("WhatsApp profiles")

    def __str__(self):
        return str(self.user)
