"""What every spreadsheet import and export of ours does, whatever the model:
the file checked for our columns, rows written and remembered for an undo,
blank, totals and (if chosen) invalid rows skipped, formulas made inert on
export."""

import copy

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from import_export import resources
from import_export.results import RowResult

from crm.imports import record_import
from crm.resources.columns import SheetColumns
from crm.spreadsheets.headers import header_key, take_header_row
from crm.spreadsheets.writing import escape_formulas


class SpreadsheetResource(SheetColumns, resources.ModelResource):
    """What every import and export of ours does, whatever the model.

    ``HEADERS`` and ``NUMBER_FIELD``: see SheetColumns.
    """

    EXAMPLE_ROWS = []
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
