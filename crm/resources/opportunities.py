"""Opportunities to and from spreadsheets, each found or created for its
customer by WhatsApp number."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, widgets

from crm.models import Customer, Opportunity, Stage
from crm.resources.base import SpreadsheetResource
from crm.resources.customers import CUSTOMER_HEADERS
from crm.resources.widgets import (
    ChoiceLabelWidget,
    CustomerByPhoneWidget,
    DateWidget,
    PhoneWidget,
    RupiahWidget,
    TextWidget,
)

OPPORTUNITY_HEADERS = {
    "title": ["Judul", "Title", "Produk", "Pesanan", "Opportunity", "Peluang"],
    "customer_name": ["Pelanggan", "Nama Pelanggan", "Nama", "Customer", "Name"],
    "customer": CUSTOMER_HEADERS["phone"],
    "amount": ["Nilai", "Nilai (Rp)", "Amount", "Harga", "Total", "Nominal", "Value"],
    "stage": ["Tahap", "Stage"],
    "lost_reason": ["Alasan Batal", "Alasan", "Lost Reason"],
    "expected_close_date": [
        "Perkiraan Closing", "Perkiraan Tanggal Closing", "Expected Close Date", "Close Date",
    ],
}


class OpportunityResource(SpreadsheetResource):
    """Opportunities to and from spreadsheets.

    The customer is found by WhatsApp number; a number we do not know yet
    creates the customer when the row also gives a name. A row with an ID
    that exists updates that opportunity (so an export imports back).
    """

    HEADERS = OPPORTUNITY_HEADERS
    KEY_FIELDS = ("title", "customer")
    NUMBER_FIELD = "customer"

    id = fields.Field(attribute="id", column_name="ID", widget=widgets.IntegerWidget())
    title = fields.Field(attribute="title", column_name="Judul", widget=TextWidget())
    customer_name = fields.Field(
        attribute="customer__name", column_name="Pelanggan", widget=TextWidget(),
        readonly=True,
    )
    customer = fields.Field(
        attribute="customer", column_name="No HP", widget=CustomerByPhoneWidget()
    )
    amount = fields.Field(attribute="amount", column_name="Nilai", widget=RupiahWidget())
    stage = fields.Field(
        attribute="stage", column_name="Tahap",
        widget=ChoiceLabelWidget(Stage.choices, default=Stage.PROSPECT),
    )
    lost_reason = fields.Field(
        attribute="lost_reason", column_name="Alasan Batal", widget=TextWidget()
    )
    expected_close_date = fields.Field(
        attribute="expected_close_date", column_name="Perkiraan Closing",
        widget=DateWidget(),
    )

    class Meta:
        model = Opportunity
        fields = [
            "id", "title", "customer_name", "customer", "amount", "stage", "lost_reason",
            "expected_close_date",
        ]
        import_id_fields = ["id"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        name = gettext_lazy("Opportunities")

    EXAMPLE_ROWS = [
        ["", "Kripik tempe 100 bungkus", "Bu Sum", "0812-3456-7890", "Rp 800.000", "Penawaran",
         "", "2026-12-20"],
        ["", "Seragam batik kantor 20 pcs", "Pak Darto", "0857-1111-2222", "3.000.000",
         "Batal", "Harga terlalu mahal", ""],
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.new_customers = {}

    def get_instance(self, instance_loader, row):
        if not str(row.get("ID") or "").strip():
            return None
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None  # the ID field reports the bad value

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "customer":
            self.import_customer(instance, row)
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def import_customer(self, opportunity, row):
        """Set the opportunity's customer from the row's number (and name)."""
        raw_phone = row.get("No HP")
        if opportunity.pk and not str(raw_phone or "").strip():
            return  # an update that leaves the customer as it is
        phone = PhoneWidget().clean(raw_phone)
        if phone is None:
            raise ValueError(_("The customer's WhatsApp number is missing."))
        customer = Customer.objects.filter(phone=phone).first()
        if customer is None:
            name = str(row.get("Pelanggan") or "").strip()
            if not name:
                raise ValueError(
                    _("No customer has the number %(phone)s; give their name in the "
                      "Pelanggan column to add them.") % {"phone": raw_phone}
                )
            customer = Customer.objects.create(
                name=name, phone=phone, source=Customer.Source.OTHER, owner=self.user
            )
            self.new_customers[customer.pk] = customer
        opportunity.customer = customer

    def write_instance(self, instance, is_create, row, **kwargs):
        if is_create and instance.owner_id is None and getattr(self.user, "pk", None):
            instance.owner = self.user
        self.before_save_instance(instance, row, **kwargs)
        # A dry run writes inside the transaction it rolls back; the stage
        # history records who imported the change.
        instance.save(changed_by=self.user)
        self.after_save_instance(instance, row, **kwargs)

    def created_alongside(self):
        return list(self.new_customers.values())

    def export(self, queryset=None, **kwargs):
        if queryset is not None:
            # One JOIN for the whole export, not a query per row.
            queryset = queryset.select_related("customer")
        return super().export(queryset=queryset, **kwargs)
