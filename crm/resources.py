"""Spreadsheet import and export of customers (django-import-export).

The WhatsApp number is a customer's identity: a row whose number is already
known, in whatever format, updates that customer, also when the earlier
occurrence is a few rows up in the same file. Headers are recognised in
Indonesian and English; columns we do not know are ignored and listed.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets
from import_export.results import RowResult

from crm.imports import record_import
from crm.models import Customer
from crm.phones import InvalidPhoneNumber, format_phone, normalize_phone
from crm.spreadsheets import escape_formulas, header_key


class TextWidget(widgets.CharWidget):
    """Text with the surrounding whitespace trimmed; blank is ""."""

    def clean(self, value, row=None, **kwargs):
        return super().clean(value, row, **kwargs).strip()


class EmailWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return super().clean(value, row, **kwargs).lower()


class PhoneWidget(widgets.CharWidget):
    """A WhatsApp number, normalised exactly as the customer form does."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, float) and value.is_integer():
            # Excel stores a typed 081234567890 as the number 81234567890.0.
            value = int(value)
        text = str(value if value is not None else "").strip().lstrip("'").strip()
        if not text:
            return None
        try:
            return normalize_phone(text)
        except InvalidPhoneNumber as error:
            raise ValueError(str(error)) from error

    def render(self, value, obj=None, **kwargs):
        # Indonesian numbers the way people write them (0812-3456-7890);
        # others in international form.
        if value and value.startswith("62"):
            return "0" + format_phone(value).removeprefix("+62 ")
        return format_phone(value)


class ChoiceLabelWidget(widgets.Widget):
    """A choice given by its Indonesian or English label (or its stored value)."""

    def __init__(self, choices, default, **kwargs):
        self.choices = choices
        self.default = default
        self._by_name = None
        super().__init__(**kwargs)

    def names(self):
        """Every accepted spelling, in both languages, built once."""
        if self._by_name is None:
            self._by_name = {}
            for stored, label in self.choices:
                self._by_name[header_key(stored)] = stored
                for language in ("id", "en"):
                    with translation.override(language):
                        self._by_name[header_key(str(label))] = stored
        return self._by_name

    def clean(self, value, row=None, **kwargs):
        text = header_key(value)
        if not text:
            return self.default
        if text in self.names():
            return self.names()[text]
        accepted = ", ".join(str(label) for _stored, label in self.choices)
        raise ValueError(
            _("Unknown value %(value)s; use one of: %(accepted)s")
            % {"value": value, "accepted": accepted}
        )

    def render(self, value, obj=None, **kwargs):
        return str(dict(self.choices).get(value, value or ""))


# Header spellings recognised per field, compared by header_key().
CUSTOMER_HEADERS = {
    "name": ["Nama", "Name", "Nama Pelanggan", "Pelanggan", "Customer", "Full Name"],
    "phone": [
        "No HP", "No. HP / WA", "No HP WA", "No WA", "Nomor HP", "Nomor WhatsApp", "HP", "WA",
        "WhatsApp", "Telepon", "Telp", "Phone", "Phone Number", "Mobile",
    ],
    "email": ["Email", "E-mail", "Surel"],
    "business_name": ["Nama Usaha", "Usaha", "Toko", "Perusahaan", "Business", "Company"],
    "address": ["Alamat", "Address"],
    "city": ["Kota", "Kabupaten/Kota", "City"],
    "source": ["Sumber", "Source"],
    "notes": ["Catatan", "Keterangan", "Notes", "Note"],
}


class CustomerResource(resources.ModelResource):
    """Customers to and from spreadsheets, with Indonesian headers both ways."""

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
            "name", "phone", "email", "business_name", "address", "city", "source", "notes"
        ]
        import_id_fields = ["phone"]
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

    def __init__(self, *, skip_invalid_rows=False, **kwargs):
        super().__init__(**kwargs)
        self.skip_invalid_rows = skip_invalid_rows
        self.unknown_columns = []

    # Reading the file

    def before_import(self, dataset, **kwargs):
        limit = settings.IMPORT_MAX_ROWS
        if len(dataset) > limit:
            raise ValidationError(
                _("The file has %(rows)s rows; at most %(limit)s can be imported at once.")
                % {"rows": len(dataset), "limit": limit}
            )
        dataset.headers = self.recognised_headers(dataset.headers or [])

    def recognised_headers(self, headers):
        """The file's headers with known spellings renamed to our column names."""
        by_key = {}
        for field_name, spellings in CUSTOMER_HEADERS.items():
            column = self.fields[field_name].column_name
            for spelling in [column, *spellings]:
                by_key[header_key(spelling)] = column
        renamed, taken = [], set()
        for header in headers:
            column = by_key.get(header_key(header))
            if column is None or column in taken:
                if header_key(header):
                    self.unknown_columns.append(str(header).strip())
                renamed.append(f"(ignored) {header}")
            else:
                taken.add(column)
                renamed.append(column)
        return renamed

    def get_instance(self, instance_loader, row):
        # A blank or invalid number identifies nobody: the row is a new
        # customer, and an invalid number is reported by the phone field.
        try:
            if not self.fields["phone"].clean(row):
                return None
        except (ValueError, KeyError):
            return None
        return super().get_instance(instance_loader, row)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # An empty cell never erases what is known about an existing customer.
        if instance.pk and not str(row.get(field.column_name) or "").strip():
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def import_row(self, row, instance_loader, **kwargs):
        if not any(str(value or "").strip() for value in row.values()):
            # A blank line in the sheet: skipped, never an error.
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        row_result = super().import_row(row, instance_loader, **kwargs)
        if self.skip_invalid_rows and row_result.validation_error is not None:
            # The user chose to import only the valid rows: this one is left
            # out, with its reasons kept for the summary.
            row_result.skipped_errors = row_result.validation_error
            row_result.spreadsheet_row = kwargs["row_number"] + 1  # header is row 1
            row_result.validation_error = None
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
        return row_result

    def after_import(self, dataset, result, **kwargs):
        result.unknown_columns = self.unknown_columns
        if not kwargs.get("dry_run") and not result.has_errors():
            # Inside the import's transaction: the record exists iff the rows do.
            record_import(
                self._meta.model, result, [f.attribute for f in self.get_import_fields()],
                file_name=kwargs.get("file_name"), user=kwargs.get("user"),
            )
        super().after_import(dataset, result, **kwargs)

    # Writing the file

    def export(self, *args, **kwargs):
        return escape_formulas(super().export(*args, **kwargs))
