"""The admin's spreadsheet import forms: our limits, the valid-rows choice, and
the file's format found from its content unless the user picks one."""

from django import forms
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.forms import ConfirmImportForm, ImportForm

from crm.contacts import SpreadsheetVCF, looks_like_vcard
from crm.spreadsheets.text_files import SpreadsheetCSV
from crm.spreadsheets.workbooks import SpreadsheetXLS, SpreadsheetXLSX

SKIP_INVALID_ROWS_LABEL = gettext_lazy("Import only the valid rows")
SKIP_INVALID_ROWS_HELP = gettext_lazy(
    "Without this, a file with any invalid row imports nothing, so you can fix the "
    "file first. With it, invalid rows are left out and listed."
)


AUTOMATIC_FORMAT_LABEL = gettext_lazy("Automatic (from the file's content)")

# An .xls workbook is an OLE2 compound file.
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def unsupported_file(data):
    """A sentence for a file that is a spreadsheet of a kind we do not read
    (LibreOffice's .ods, a web page or Excel 2003 XML saved as .xls, as many
    point-of-sale and web systems export), else None."""
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") and b"application/vnd.oasis.opendocument" in head:
        return _("This is a LibreOffice or OpenOffice file (.ods). Open it there, choose "
                 "Save As, pick Excel (.xlsx), and upload that file.")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<html", b"<!doctype html", b"<table", b"<?xml")):
        return _("This file is a web page or XML saved with a spreadsheet's name, not a "
                 "spreadsheet. Open it in Excel or LibreOffice, save it as Excel (.xlsx), and "
                 "upload that file.")
    return None


def detect_format(data, filename=""):
    """The format class of a file, from its first bytes (``data``): an .xlsx
    is a zip, an .xls an OLE2 file, a vCard starts BEGIN:VCARD; the rest is
    read as CSV. The name counts only for a .vcf that is not plainly one."""
    if data.startswith(b"PK\x03\x04"):
        return SpreadsheetXLSX
    if data.startswith(OLE2_SIGNATURE):
        return SpreadsheetXLS
    if looks_like_vcard(data) or str(filename).lower().endswith(".vcf"):
        return SpreadsheetVCF
    return SpreadsheetCSV


class SpreadsheetImportForm(ImportForm):
    skip_invalid_rows = forms.BooleanField(
        label=SKIP_INVALID_ROWS_LABEL, help_text=SKIP_INVALID_ROWS_HELP, required=False
    )

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.formats = list(formats)
        # The format is found from the file's content unless the user picks
        # one. The library's script would pick it by the file name's
        # extension as soon as a file is chosen: left out.
        field = self.fields["format"]
        field.required = False
        field.choices = [("", AUTOMATIC_FORMAT_LABEL)] + [
            choice for choice in field.choices if choice[0] != ""
        ]
        field.widget.attrs.pop("class", None)

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit_mb = settings.IMPORT_MAX_UPLOAD_MB
        if upload.size > limit_mb * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB.") % {"limit": limit_mb}
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        if upload is not None:
            upload.seek(0)
            head = upload.read(4096)
            upload.seek(0)
            unsupported = unsupported_file(head)
            if unsupported:
                self.add_error("import_file", unsupported)
                return cleaned
        if upload is not None and not cleaned.get("format"):
            # Resolved before the preview stores the upload: the confirmation
            # is signed with the format actually read.
            found = detect_format(head, upload.name)
            index = next((i for i, f in enumerate(self.formats) if issubclass(f, found)), None)
            if index is None:
                self.add_error("import_file", _(
                    "This is a contacts file (vCard). Import it under Customers."
                ) if found is SpreadsheetVCF else _("This kind of file cannot be imported here."))
            else:
                cleaned["format"] = str(index)
        return cleaned


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
