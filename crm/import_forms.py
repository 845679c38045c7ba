"""The admin's spreadsheet import forms, with our limits and the valid-rows choice."""

from django import forms
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
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
    # The preview's upload, format and resource, signed: the confirmation
    # reads the upload as the preview did. A format changed in between would
    # read a CSV as XLSX and fail inside the library (a 500).
    signature = forms.CharField(widget=forms.HiddenInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.initial.get("import_file_name"):
            self.initial["signature"] = _signature(self.initial)

    def clean(self):
        cleaned = super().clean()
        if not constant_time_compare(cleaned.get("signature") or "", _signature(cleaned)):
            raise forms.ValidationError(
                _("This confirmation was changed after the preview. Upload the file again.")
            )
        return cleaned


def _signature(values):
    text = "\n".join(
        str(values.get(name) or "") for name in ("import_file_name", "format", "resource")
    )
    return salted_hmac("crm.import_forms.SpreadsheetConfirmImportForm", text).hexdigest()
