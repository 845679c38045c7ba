"""Customers to and from spreadsheets.

The WhatsApp number is a customer's identity: a row whose number is already
known, in whatever format, updates that customer, also when the earlier
occurrence is a few rows up in the same file. Headers are recognised in
Indonesian and English; columns we do not know are ignored and listed.
"""

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, widgets
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import RowResult

from crm.bulk_insert import insert_rows
from crm.contacts import take_skip_reasons
from crm.models import Customer, Opportunity
from crm.resources.base import SpreadsheetResource
from crm.resources.widgets import ChoiceLabelWidget, EmailWidget, PhoneWidget, TextWidget

# Header spellings recognised per field, compared by header_key().
CUSTOMER_HEADERS = {
    "name": ["Nama", "Name", "Nama Pelanggan", "Pelanggan", "Customer", "Full Name"],
    "phone": [
        "No HP", "No. HP / WA", "No HP WA", "No WA", "Nomor HP", "Nomor WhatsApp", "HP", "WA",
        "WhatsApp", "Telepon", "Telp", "Phone", "Phone Number", "Mobile", "Mobile Phone",
    ],
    "email": ["Email", "E-mail", "Surel", "E-mail Address", "Email Address"],
    "business_name": [
        "Nama Usaha", "Usaha", "Toko", "Perusahaan", "Business", "Company",
        "Organization Name", "Organization 1 - Name",
    ],
    "address": ["Alamat", "Address"],
    "city": ["Kota", "Kabupaten/Kota", "City"],
    "source": ["Sumber", "Source"],
    "notes": ["Catatan", "Keterangan", "Notes", "Note"],
}


class CustomerByPhoneLoader(BaseInstanceLoader):
    """Finds a row's customer by its ID (a column of our exports) or else by
    number, with one query per 1,000 rows.

    Customers saved earlier in the same import are remembered too, so a
    number repeated further down the file updates the customer created above.
    An ID that is not one of our customers' (a file from elsewhere) is no
    identity: the number is.
    """

    CHUNK = 1000

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        ids, phones = set(), set()
        headers = (dataset.headers if dataset else None) or []
        for values in dataset if dataset else []:
            row = dict(zip(headers, values, strict=False))  # one at a time: not dataset.dict
            ids.add(self.row_id(row))
            try:
                phones.add(resource.fields["phone"].clean(row))
            except (ValueError, KeyError):
                continue
        self.by_id = self.load("pk__in", sorted(ids - {None}))
        self.by_phone = {}
        for customer in self.load("phone__in", sorted(phones - {None})).values():
            # The same object as by its ID, so a row's changes are seen by both.
            self.by_phone[customer.phone] = self.by_id.get(customer.pk, customer)

    def load(self, lookup, values):
        found = {}
        for start in range(0, len(values), self.CHUNK):
            for customer in Customer.objects.filter(**{lookup: values[start:start + self.CHUNK]}):
                found[customer.pk] = customer
        return found

    def row_id(self, row):
        try:
            return self.resource.fields["id"].clean(row)
        except (ValueError, KeyError):
            return None  # no ID column, or not an ID of ours

    def get_instance(self, row):
        customer = self.by_id.get(self.row_id(row))
        if customer is not None:
            return customer
        try:
            return self.by_phone.get(self.resource.fields["phone"].clean(row))
        except ValueError:
            return None  # the phone field reports the invalid number

    def remember(self, customer):
        if customer.phone:
            self.by_phone[customer.phone] = customer


class CustomerResource(SpreadsheetResource):
    """Customers to and from spreadsheets, with Indonesian headers both ways."""

    HEADERS = CUSTOMER_HEADERS
    KEY_FIELDS = ("name", "phone")
    NUMBER_FIELD = "phone"

    # The export's key: a re-imported row updates its customer, also one
    # without a number. Never written: a new row gets an ID of its own.
    id = fields.Field(
        attribute="id", column_name="ID", widget=widgets.IntegerWidget(), readonly=True
    )
    name = fields.Field(attribute="name", column_name="Nama", widget=TextWidget())
    phone = fields.Field(attribute="phone", column_name="No HP", widget=PhoneWidget())
    email = fields.Field(attribute="email", column_name="Email", widget=EmailWidget())
    business_name = fields.Field(
        attribute="business_name", column_name="Nama Usaha", widget=TextWidget()
    )
    address = fields.Field(attribute="address", column_name="Alamat", widget=TextWidget())
    city = fields.Field(attribute="city", column_name="Kota", widget=TextWidget())
    source = fields.Field(
        attribute="source",
        column_name="Sumber",
        widget=ChoiceLabelWidget(Customer.Source.choices, default=Customer.Source.OTHER),
    )
    notes = fields.Field(attribute="notes", column_name="Catatan", widget=TextWidget())

    class Meta:
        model = Customer
        fields = [
            "id", "name", "phone", "email", "business_name", "address", "city", "source",
            "notes",
        ]
        import_id_fields = ["phone"]
        instance_loader_class = CustomerByPhoneLoader
        # Rows are written 1,000 at a time (bulk_create / bulk_update) instead
        # of one INSERT and a savepoint each; the import stays one transaction.
        use_bulk = True
        batch_size = 1000
        # Model validation (required name, lengths, email) runs on every row.
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        name = gettext_lazy("Customers")

    # The downloadable template's example rows, in the import's column order.
    EXAMPLE_ROWS = [
        ["Bu Sum", "0812-3456-7890", "sum@contoh.id", "Kripik Bu Sum", "Jl. Merdeka 1",
         "Blitar", "WhatsApp", "Pesan kripik tempe tiap bulan"],
        ["Pak Darto", "0857-1111-2222", "", "Batik Darto", "Jl. Kenanga 5", "Wlingi",
         "Rekomendasi", ""],
    ]

    def before_import(self, dataset, **kwargs):
        # Contacts from Google, Outlook or a phone (crm/contacts.py).
        self.skipped_contacts = take_skip_reasons(dataset)
        super().before_import(dataset, **kwargs)

    def import_row(self, row, instance_loader, **kwargs):
        reason = getattr(self, "skipped_contacts", {}).get(kwargs["row_number"])
        if reason is None:
            row_result = super().import_row(row, instance_loader, **kwargs)
            self.note_repeated_number(row, row_result, kwargs["row_number"])
            return row_result
        row_result = self.get_row_result_class()()
        row_result.import_type = RowResult.IMPORT_TYPE_SKIP
        row_result.skipped_errors = ValidationError(reason)
        row_result.spreadsheet_row = kwargs["row_number"] + 1  # header is row 1
        row_result.diff = [row.get(header, "") for header in self.get_diff_headers()]
        return row_result

    def note_repeated_number(self, row, row_result, row_number):
        """A row with the number of a row above it updates that row's
        customer (the later cells win): said on the row, so two people
        sharing a number in the sheet are not merged unseen."""
        try:
            number = self.fields["phone"].clean(row)
        except ValueError:
            return
        if not number:
            return
        first = self.first_row_of_number.setdefault(number, row_number)
        if first != row_number and row_result.import_type == RowResult.IMPORT_TYPE_UPDATE:
            self.repeated_numbers += 1
            row_result.note = _(
                "Same number as row %(row)s: this row updates that customer."
            ) % {"row": first + self.header_row}

    def get_instance(self, instance_loader, row):
        # A row without a known ID and with a blank or invalid number
        # identifies nobody: it is a new customer (see CustomerByPhoneLoader).
        self.instance_loader = instance_loader
        return super().get_instance(instance_loader, row)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # No per-row uniqueness query: a known number updates its customer
        # (see CustomerByPhoneLoader), so a row cannot duplicate one, except
        # a row found by its ID that was given another customer's number;
        # the database's unique index still guards against a concurrent import.
        errors = dict(import_validation_errors or {})
        loader = getattr(self, "instance_loader", None)
        other = loader.by_phone.get(instance.phone) if loader and instance.phone else None
        if other is not None and other is not instance and (
            other.pk is None or other.pk != instance.pk
        ):
            errors.setdefault("phone", []).append(
                _("The number %(phone)s is already %(name)s's, another customer.")
                % {"phone": PhoneWidget().render(instance.phone), "name": other.name}
            )
        super().validate_instance(instance, errors, validate_unique=False)

    def save_instance(self, instance, is_create, row, **kwargs):
        if not is_create and instance.pk is None:
            # A number repeated in the file before its customer was written:
            # the pending new customer was just updated in place.
            return
        if not is_create:
            instance.updated_at = timezone.now()  # bulk_update skips auto_now
        else:
            instance._from_this_import = True
        super().save_instance(instance, is_create, row, **kwargs)
        loader = getattr(self, "instance_loader", None)
        if loader is not None:
            loader.remember(instance)

    def get_bulk_update_fields(self):
        # The number too (the library leaves out import_id_fields): a row
        # found by its ID may change it. Not the ID: it is the row's key.
        return [*(name for name in self.fields if name != "id"), "updated_at"]

    # The preview (dry run) writes nothing: which rows are new and which
    # update a customer is known from the numbers (CustomerByPhoneLoader),
    # and every row is validated; writing and rolling back would only double
    # the time the user waits. The confirmed import writes in one transaction.
    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """The library's bulk create, its INSERT written by crm.bulk_insert.insert_rows."""
        if dry_run or not self.create_instances:
            self.create_instances.clear()
            return
        try:
            insert_rows(self._meta.model, self.create_instances, batch_size=batch_size or 1000)
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.create_instances.clear()

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        """The library's bulk update, written as an upsert on the primary key.

        Django's ``bulk_update`` builds a ``CASE WHEN id = … THEN …`` per row
        and field in Python, a third of a large import's time; ``INSERT …
        ON CONFLICT (id) DO UPDATE`` (``ON DUPLICATE KEY UPDATE`` on MySQL)
        of the same loaded rows writes the same values, listed fields only.
        """
        if dry_run or not self.update_instances:
            self.update_instances.clear()
            return
        model = self._meta.model
        features = connections[router.db_for_write(model)].features
        try:
            insert_rows(
                model, self.update_instances,
                batch_size=batch_size or 1000,
                update_fields=self.get_bulk_update_fields(),
                # MySQL takes no conflict target (any unique key conflicts).
                unique_fields=["id"] if features.supports_update_conflicts_with_target else None,
            )
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.update_instances.clear()

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        # bulk_update skips Customer.save(): renamed customers' opportunities
        # get their search text here.
        updated = [row.object_id for row in result.rows if row.object_id is not None
                   and row.import_type == RowResult.IMPORT_TYPE_UPDATE]
        for start in range(0, len(updated), 1000):
            Opportunity.objects.filter(
                customer_id__in=updated[start:start + 1000]
            ).refresh_search_text()
