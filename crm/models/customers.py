"""Customers: who the business sells to."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from crm.largelists.queryset import ScannableQuerySet
from crm.models.fields import WhatsAppNumberField


class Customer(models.Model):
    class Source(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        INSTAGRAM = "instagram", "Instagram"
        FACEBOOK = "facebook", "Facebook"
        MARKETPLACE = "marketplace", _("Marketplace")
        REFERRAL = "referral", _("Referral")
        WALK_IN = "walk_in", _("Walk-in")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    phone = WhatsAppNumberField(
        _("WhatsApp number"),
        unique=True,
        help_text=_("Any format: 0812-3456-7890, +62 812 3456 7890, 62812 3456 7890."),
        error_messages={"unique": _("A customer with this WhatsApp number already exists.")},
    )
    email = models.EmailField(_("email"), blank=True, db_index=True)
    business_name = models.CharField(_("business name"), max_length=200, blank=True)
    address = models.TextField(_("address"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.WHATSAPP
    )
    notes = models.TextField(_("notes"), blank=True)
    whatsapp_opt_out = models.BooleanField(
        _("opted out of WhatsApp"),
        default=False,
        help_text=_("The customer asked not to receive WhatsApp messages."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        db_index=False,  # indexed by customer_owner_created

    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Who changed what and when, with every previous version.
    history = HistoricalRecords()

    objects = ScannableQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]
        permissions = [
            ("import_customer", _("Can import customers from a spreadsheet")),
            ("export_customer", _("Can export customers to a spreadsheet")),
        ]
        # Each list filter is paired with the list's sort order (ascending, so a
        # backward scan yields "newest first, then highest id"), so a filtered
        # first page reads 100 index entries instead of sorting the table.
        indexes = [
            models.Index(fields=["source", "created_at"], name="customer_source_created"),
            models.Index(fields=["city", "created_at"], name="customer_city_created"),
            models.Index(fields=["owner", "created_at"], name="customer_owner_created"),
            models.Index(fields=["name"], name="customer_name"),
        ]

    def __str__(self):
        return self.name

    # The names as last loaded or saved: the opportunities' search text
    # needs refreshing only when they change.
    _saved_names = None

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        names = (self.name, self.business_name, self.phone)
        if not adding and names != self._saved_names:
            # The customer's names and number are part of each opportunity's
            # search text.
            self.opportunities.refresh_search_text()
        self._saved_names = names

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_names = tuple(
            instance.__dict__.get(name) for name in ("name", "business_name", "phone")
        )
        return instance


class DeletedCustomer(Customer.history.model):
    """Deleted customers as their history last saw them (a proxy: no table);
    the admin lists them for the owner to restore (crm/history.py)."""

    class Meta:
        proxy = True
        verbose_name = _("deleted customer")
        verbose_name_plural = _("deleted customers")
