"""Spreadsheet import and export of customers (django-import-export).

The WhatsApp number is a customer's identity: a row whose number is already
known, in whatever format, updates that customer, also when the earlier
occurrence is a few rows up in the same file. Headers are recognised in
Indonesian and English; columns we do not know are ignored and listed.
"""

import copy
import datetime
import decimal
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import RowResult

from crm.contacts import take_skip_reasons
from crm.imports import insert_rows, record_import
from crm.models import Customer, Opportunity, Stage, refresh_search_text
from crm.phones import InvalidPhoneNumber, format_phone, normalize_phone
from crm.spreadsheets import escape_formulas, header_key, take_header_row, unescape_formula


class TextWidget(widgets.CharWidget):
    """Text with the surrounding whitespace trimmed; blank is "". The
    apostrophe an export put before a formula-like cell goes again."""

    def clean(self, value, row=None, **kwargs):
        # Text is the library's answer for text, without its calls.
        text = value if type(value) is str else super().clean(value, row, **kwargs)
        return unescape_formula(text).strip()


class EmailWidget(TextWidget):
    def clean(self, value, row=None, **kwargs):
        return super().clean(value, row, **kwargs).lower()


class PhoneWidget(widgets.CharWidget):
    """A WhatsApp number, normalised exactly as the customer form does."""

    # Texts read so far and their numbers: an import reads a row's number
    # three times (to find its customer, again for the row, and to set it).
    # Each resource has its own copy of its widgets, so this lasts one import.
    READ_MEMORY = 250_000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._read = {}

    def __deepcopy__(self, memo):
        widget = copy.copy(self)
        widget._read = {}
        return widget

    def clean(self, value, row=None, **kwargs):
        if type(value) is str:
            digits = self._read.get(value)
            if digits is not None:
                return digits
        # A number cell (Excel stores a typed 081234567890 as 81234567890.0)
        # is read by normalize_phone, which knows what a spreadsheet does to
        # numbers; only a blank cell is no number.
        if value is None or not str(value).strip().removeprefix("'").strip():
            return None
        try:
            digits = normalize_phone(value)
        except InvalidPhoneNumber as error:
            raise ValueError(str(error)) from error  # not kept: said again each time
        if type(value) is str and len(self._read) < self.READ_MEMORY:
            self._read[value] = digits
        return digits

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


# Words of a header that name a phone number, by how likely the column is to
# hold the customer's WhatsApp (lower first): WA, then a mobile, then a
# telephone (often the shop's landline).
PHONE_WORDS = {
    "wa": 0, "whatsapp": 0, "watsap": 0,
    "hp": 1, "handphone": 1, "ponsel": 1, "mobile": 1, "seluler": 1, "cell": 1,
    "telp": 2, "tlp": 2, "telepon": 2, "telpon": 2, "phone": 2, "kontak": 2, "contact": 2,
}
# Headers with one of these words name something else ("Nama Kontak").
NOT_PHONE_WORDS = {"nama", "name", "email", "alamat", "address", "jenis", "type", "label"}
# A totals row's label, by header_key().
TOTALS_WORDS = {"total", "jumlah", "grand total", "sub total", "subtotal", "total keseluruhan",
                "jumlah total", "totals"}


def phone_rank(key):
    """How likely a header (by header_key) names the WhatsApp number, lower
    first; None if it does not name a phone."""
    words = key.split()
    if not words or NOT_PHONE_WORDS.intersection(words):
        return None
    ranks = [PHONE_WORDS[word] for word in words if word in PHONE_WORDS]
    return min(ranks) if ranks else None


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


class SpreadsheetResource(resources.ModelResource):
    """What every import and export of ours does, whatever the model.

    ``HEADERS`` maps field names to the header spellings recognised for them
    (besides the field's own column name).
    """

    HEADERS = {}
    EXAMPLE_ROWS = []
    # The field read from the WhatsApp number column, if the model has one.
    NUMBER_FIELD = None
    # Fields of which a file must have at least one column to be one of ours.
    KEY_FIELDS = ()

    # Rows whose change the preview shows; past these no diff is computed.
    PREVIEW_ROWS = 100

    def __init__(self, *, skip_invalid_rows=False, **kwargs):
        super().__init__(**kwargs)
        self.skip_invalid_rows = skip_invalid_rows
        self.unknown_columns = []
        self.number_alternates = []
        self.first_row_of_number = {}
        self.repeated_numbers = 0
        self.header_row = 1
        # What an undo needs: the rows created (a bulk import learns their
        # ids only when writing them) and the values the updates replaced.
        self.created_objects = []
        self.previous = {}
        # This import's own copy of the options, so diffs can stop after the
        # rows the preview shows without touching other imports.
        self._meta = copy.copy(type(self)._meta)

    # Reading the file

    def before_import(self, dataset, **kwargs):
        limit = settings.IMPORT_MAX_ROWS
        if len(dataset) > limit:
            # Our readers stop at the limit; this is for datasets from
            # elsewhere. The library goes on to the rows after this error:
            # without rows it has none to go on to.
            rows = len(dataset)
            dataset.wipe()
            raise ValidationError(
                _("The file has %(rows)s rows; at most %(limit)s can be imported at once.")
                % {"rows": rows, "limit": limit}
            )
        self.header_row = take_header_row(dataset, self.recognised_count)
        columns = {self.columns_by_key.get(header_key(h)) for h in dataset.headers or []}
        if not columns & {self.fields[name].column_name for name in self.KEY_FIELDS}:
            found = [str(h).strip() for h in dataset.headers or [] if header_key(h)]
            dataset.wipe()
            raise ValidationError(
                _("The file has no %(key)s column. Columns found: %(found)s. Columns "
                  "expected: %(expected)s. Name the columns as in the template and upload "
                  "the file again.") % {
                    "key": _(" or ").join(self.fields[n].column_name for n in self.KEY_FIELDS),
                    "found": ", ".join(found) or "-",
                    "expected": ", ".join(
                        f.column_name for f in self.template_fields() if f.attribute != "id"
                    ),
                }
            )
        dataset.headers = self.recognised_headers(dataset.headers or [])
        self.fill_empty_numbers(dataset)
        for field_name in self.get_import_id_fields():
            # A file without the key column (customers without numbers)
            # imports as new rows; the library would refuse it.
            column = self.fields[field_name].column_name
            if column not in dataset.headers:
                if len(dataset):
                    dataset.append_col([""] * len(dataset), header=column)
                else:
                    dataset.headers = [*dataset.headers, column]
        self.user = kwargs.get("user")
        # The same for every row; the library asks for them row by row.
        self._import_fields = super().get_import_fields()

    def get_import_fields(self):
        fields = getattr(self, "_import_fields", None)
        return fields if fields is not None else super().get_import_fields()

    def template_fields(self):
        """The columns of the downloadable template: those to fill in, not a
        read-only key that only an export gives."""
        return [f for f in self.get_import_fields() if not (f.readonly and f.attribute == "id")]

    @cached_property
    def columns_by_key(self):
        """Our column name for each recognised header spelling, by header_key()."""
        by_key = {}
        for field_name, field in self.fields.items():
            for spelling in [field.column_name, *self.HEADERS.get(field_name, [])]:
                by_key[header_key(spelling)] = field.column_name
        return by_key

    def column_of(self, header):
        """Our column for a file's header, or None. Besides the spellings
        listed, a header naming a phone ("Nomor HP/WA", "HP 1", "No. Telp/HP",
        "Kontak") is the number column: left unrecognised, its customers
        would be imported without their numbers."""
        key = header_key(header)
        column = self.columns_by_key.get(key)
        if column is None and phone_rank(key) is not None:
            column = self.fields[self.NUMBER_FIELD].column_name if self.NUMBER_FIELD else None
        return column

    def recognised_count(self, cells):
        """How many of a row's cells are headers of different columns of ours."""
        return len({self.column_of(cell) for cell in cells} - {None})

    def recognised_headers(self, headers):
        """The file's headers with known spellings renamed to our column names.

        Of several number columns the one most likely to be WhatsApp's is
        taken (WA, then HP, then a telephone: "Telp." is often the shop's
        landline); the others fill its empty cells (see before_import)."""
        columns = [self.column_of(header) for header in headers]
        number = self.fields[self.NUMBER_FIELD].column_name if self.NUMBER_FIELD else None
        ranked = sorted(
            (phone_rank(header_key(headers[i])) or 0, i)
            for i, column in enumerate(columns) if number and column == number
        )
        self.number_alternates = [headers[i] for _rank, i in ranked[1:]]
        taken = set()
        renamed = [None] * len(headers)
        if ranked:
            renamed[ranked[0][1]] = number
            taken.add(number)
        for index, header in enumerate(headers):
            if renamed[index] is not None:
                continue
            column = columns[index]
            if column is None or column in taken:
                if header_key(header) and header not in self.number_alternates:
                    self.unknown_columns.append(str(header).strip())
                renamed[index] = f"(ignored) {header}"
            else:
                taken.add(column)
                renamed[index] = column
        return renamed

    def fill_empty_numbers(self, dataset):
        """A row whose number column is empty takes the number of the next
        number column that has one (a sheet with No HP and No WA)."""
        number = self.fields[self.NUMBER_FIELD].column_name
        if not self.number_alternates or number not in dataset.headers:
            return
        alternates = [dataset.headers.index(f"(ignored) {h}") for h in self.number_alternates]
        index = dataset.headers.index(number)
        values = []
        for row in dataset:
            value = row[index]
            if value is None or not str(value).strip():
                value = next((row[i] for i in alternates if str(row[i] or "").strip()), value)
            values.append(value)
        del dataset[number]
        dataset.insert_col(index, values, header=number)

    def is_totals_row(self, row):
        """A sheet's totals row ("TOTAL", "Jumlah") without a number: not a record."""
        number = self.fields[self.NUMBER_FIELD].column_name if self.NUMBER_FIELD else None
        if number is None or str(row.get(number) or "").strip():
            return False
        return any(header_key(value) in TOTALS_WORDS for value in row.values())

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if not field.attribute or field.column_name not in row:
            # Nothing to import, as the library says at debug level (its
            # message was built for every row and missing column).
            return
        # An empty cell never erases what is known about an existing record
        # (or one created further up the file and not written yet).
        known = instance.pk or getattr(instance, "_from_this_import", False)
        if known and not str(row.get(field.column_name) or "").strip():
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    @cached_property
    def undo_fields(self):
        """The model fields an import writes, by attribute name (customer_id)."""
        model_fields = self._meta.model._meta
        return [
            model_fields.get_field(f.attribute).attname
            for f in self.get_import_fields()
            if f.attribute and "__" not in f.attribute and f.attribute != "id"
        ]

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        if not new and instance.pk is not None and instance.pk not in self.previous:
            self.previous[instance.pk] = {
                name: getattr(instance, name) for name in self.undo_fields
            }

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if self._meta.skip_diff and not import_validation_errors and instance.pk:
            # Past the previewed rows there is no diff to compare: compare
            # with the values the row had before instead.
            before = self.previous.get(instance.pk)
            return before is not None and all(
                getattr(instance, name) == value for name, value in before.items()
            )
        return super().skip_row(instance, original, row, import_validation_errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        if is_create:
            self.created_objects.append(instance)
        self.write_instance(instance, is_create, row, **kwargs)

    def write_instance(self, instance, is_create, row, **kwargs):
        """django-import-export's save (bulk or one by one); models may differ."""
        super().save_instance(instance, is_create, row, **kwargs)

    def import_row(self, row, instance_loader, **kwargs):
        self._meta.skip_diff = kwargs["row_number"] > self.PREVIEW_ROWS
        if not any(str(value or "").strip() for value in row.values()) or (
            self.is_totals_row(row)
        ):
            # A blank line in the sheet, or its totals: skipped, never an error.
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        row_result = super().import_row(row, instance_loader, **kwargs)
        if self.skip_invalid_rows and row_result.validation_error is not None:
            # The user chose to import only the valid rows: this one is left
            # out, with its reasons kept for the summary.
            row_result.skipped_errors = row_result.validation_error
            row_result.spreadsheet_row = kwargs["row_number"] + self.header_row
            row_result.validation_error = None
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
        return row_result

    def after_import(self, dataset, result, **kwargs):
        result.unknown_columns = self.unknown_columns
        result.repeated_numbers = getattr(self, "repeated_numbers", 0)
        # The sheet's row number of the header: row n of the dataset is row
        # n + header_row of the sheet.
        result.header_row = self.header_row
        if not kwargs.get("dry_run") and not result.has_errors():
            # Inside the import's transaction: the record exists iff the rows do.
            record_import(
                self._meta.model, result,
                file_name=kwargs.get("file_name"), user=kwargs.get("user"),
                created=self.created_objects, previous=self.previous,
                extra_created=self.created_alongside(),
            )
        super().after_import(dataset, result, **kwargs)

    def created_alongside(self):
        """Other records this import created (to be removed by its undo)."""
        return []

    # Writing the file

    def export(self, *args, **kwargs):
        return escape_formulas(super().export(*args, **kwargs))


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
        """The library's bulk create, its INSERT written by crm.imports.insert_rows."""
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
            refresh_search_text(
                Opportunity.objects.filter(customer_id__in=updated[start:start + 1000])
            )


class RupiahWidget(widgets.Widget):
    """A whole-rupiah amount as people and programs write it: Rp 1.500.000,
    1.500.000, 1500000, 1.500.000,00, Rp 1.500.000,- (Indonesian: dots group
    thousands, a comma starts the sen), 1500000.0 and 1,500,000 (a program
    or English settings), 1,5 jt and 150 rb.

    Never a different amount: a dot or comma is a group separator only
    before groups of three digits, otherwise a decimal point; a fraction of
    a rupiah (1.5, 1500000.5) is refused, quoting the cell.
    """

    MULTIPLIERS = {"rb": 1_000, "ribu": 1_000, "k": 1_000, "jt": 1_000_000,
                   "juta": 1_000_000}
    _AMOUNT = re.compile(r"(?P<number>\d[\d.,]*?)(?:,-)?\s*(?P<unit>[a-z]*)\.?")

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return 0
        if isinstance(value, bool):
            raise self.refused(value)
        if isinstance(value, int | float | decimal.Decimal):
            # A workbook's number: a formula's 0.57 * 100000000 is stored as
            # 56999999.99999999, so it is rounded, not cut; a real fraction
            # of a rupiah is refused.
            return self.whole(decimal.Decimal(repr(value)) if isinstance(value, float)
                              else decimal.Decimal(value), value)
        text = str(value).strip().lower().replace(" ", "").replace("\u00a0", "")
        text = text.removeprefix("rp").removeprefix("idr").strip()
        found = self._AMOUNT.fullmatch(text)
        if not found or (found["unit"] and found["unit"] not in self.MULTIPLIERS):
            raise self.refused(value)
        number = self.number(found["number"], value)
        return self.whole(number * self.MULTIPLIERS.get(found["unit"], 1), value)

    _GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")

    def number(self, text, cell):
        """The Decimal a written number stands for, by its separators."""
        if self._GROUPED.fullmatch(text):
            # 1.500.000 or 1,500,000: one kind of separator, grouping
            # thousands (1.500 is one thousand five hundred, as Indonesians
            # write it, not one and a half).
            return decimal.Decimal(re.sub(r"[.,]", "", text))
        last = max(text.rfind("."), text.rfind(","))
        if last < 0:
            return decimal.Decimal(text)
        # The last separator is a decimal point; before it, digits grouped
        # by the other separator (1.500.000,00, 1,500,000.00) or none.
        head, point, tail = text[:last], text[last], text[last + 1:]
        grouped = self._GROUPED.fullmatch(head)
        if not tail.isdigit() or not (
            head.isdigit() or (grouped and grouped.group(1) != point)
        ):
            raise self.refused(cell)
        return decimal.Decimal(re.sub(r"[.,]", "", head) + "." + tail)

    def whole(self, number, cell):
        rounded = number.to_integral_value(rounding=decimal.ROUND_HALF_UP)
        noise = decimal.Decimal("0.001")
        if not number.is_finite() or number < 0 or abs(number - rounded) > noise:
            raise ValueError(_("Not a whole amount in rupiah: %(value)s") % {"value": cell})
        return int(rounded)

    @staticmethod
    def refused(cell):
        return ValueError(_("Not an amount in rupiah: %(value)s") % {"value": cell})

    def render(self, value, obj=None, **kwargs):
        return value


class DateWidget(widgets.DateWidget):
    """A date as people type it here (20/12/2026, 20-12-2026) or ISO (2026-12-20)."""

    FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, str) and value.strip():
            for date_format in self.FORMATS:
                try:
                    return datetime.datetime.strptime(value.strip(), date_format).date()
                except ValueError:
                    continue
            raise ValueError(_("Not a date: %(value)s") % {"value": value})
        if isinstance(value, datetime.datetime):
            # A workbook's date cell: a datetime never equals the stored date,
            # so every re-imported row would count as changed.
            return value.date()
        if isinstance(value, datetime.date) or value is None or value == "":
            return super().clean(value, row, **kwargs)
        # A number (a date cell that lost its date format shows 46387).
        raise ValueError(_("Not a date: %(value)s") % {"value": value})

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class CustomerByPhoneWidget(widgets.Widget):
    """The customer a row's WhatsApp number belongs to (see OpportunityResource)."""

    def render(self, value, obj=None, **kwargs):
        return PhoneWidget().render(value.phone) if value else ""


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
