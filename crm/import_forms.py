"""The admin's spreadsheet import forms, with our limits and the valid-rows choice."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.forms import ConfirmImportForm, ImportForm

SKIP_INVALID_ROWS_LABEL = gettext_lazy("Import only the valid rows")
SKIP_INVALID_ROWS_HELP = gettext_lazy(
    "Without this, a file with any invalid row imports nothing, so you can fix the "
    "file first. With it, invalid rows are left out and listed."
)


class SpreadsheetImportForm(ImportForm):
    skip_invalid_rows = forms.BooleanField(
        label=SKIP_INVALID_ROWS_LABEL, help_text=SKIP_INVALID_ROWS_HELP, required=False
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit_mb = settings.IMPORT_MAX_UPLOAD_MB
        if upload.size > limit_mb * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB.") % {"limit": limit_mb}
            )
        return upload


class SpreadsheetConfirmImportForm(ConfirmImportForm):
    skip_invalid_rows = forms.BooleanField(required=False, widget=forms.HiddenInput())
