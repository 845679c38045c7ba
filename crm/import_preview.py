"""A large file's preview, made by the task worker and shown later.

Reading and checking 100,000 rows takes longer than a web request may
(IMPORT_PREVIEW_BACKGROUND_ROWS), so above that size the upload's request
only stores the file and queues a preview job (crm.import_jobs). The job
keeps what the import page shows, as plain data (``summarize``), and the
page shows it again from that (``StoredPreview``), with the confirmation.

``estimate_rows`` tells, from the file's bytes and without reading it as a
sheet, whether a file is that large.
"""

import re
import zipfile
from io import BytesIO

from django.conf import settings
from django.utils.safestring import mark_safe

from crm.resources import CUSTOMER_HEADERS, OPPORTUNITY_HEADERS
from crm.spreadsheets.refusals import import_error_message

# What the import page lists (templates/admin/import_export/import.html):
# the first changes and the first problems, then counts.
PREVIEW_ROWS = 100
PROBLEM_ROWS = 200


# --- How large is the upload? ---------------------------------------------------

# An .xlsx sheet usually starts with its size: <dimension ref="A1:F100001"/>.
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+:[A-Z]+(\d+)"')
# Bytes a sheet row takes, roughly, where its size is not written.
_XLSX_BYTES_PER_ROW = 150
_XLS_BYTES_PER_ROW = 40


def estimate_rows(data, format_name):
    """About how many rows ``data`` (an upload's bytes) holds, from counting
    its lines, its contacts or the size a workbook declares. Only decides
    where the preview runs: the preview counts the rows it reads."""
    if format_name == "xlsx":
        return _xlsx_rows(data)
    if format_name == "xls":
        return len(data) // _XLS_BYTES_PER_ROW
    if format_name == "vcf":
        return len(re.findall(rb"(?im)^begin:vcard", data))
    return data.count(b"\n") or data.count(b"\r")


def _xlsx_rows(data):
    try:
        with zipfile.ZipFile(BytesIO(data)) as workbook:
            sheets = sorted(
                (info for info in workbook.infolist()
                 if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", info.filename)),
                key=lambda info: int(re.sub(r"\D", "", info.filename)),
            )
            unpacked = sum(info.file_size for info in workbook.infolist())
            if not sheets or unpacked > settings.IMPORT_MAX_UNPACKED_MB * 1024 * 1024:
                return 0  # refused at once by the request's reader (crm.spreadsheets)
            with workbook.open(sheets[0]) as sheet:
                found = _DIMENSION.search(sheet.read(4096))
            return int(found.group(1)) if found else sheets[0].file_size // _XLSX_BYTES_PER_ROW
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return 0  # not a workbook after all: the (quick) preview in the request says so


# --- Keeping a preview -------------------------------------------------------------


def summarize(result):
    """What the import page shows of ``result`` (an import_export Result of
    a dry run), as JSON-ready data: totals, the first rows and problems in
    the words the user reads, and their counts."""
    invalid = result.invalid_rows
    valid = result.valid_rows()
    return {
        "totals": dict(result.totals),
        "total_rows": result.total_rows,
        "header_row": getattr(result, "header_row", 1),
        "unknown_columns": list(getattr(result, "unknown_columns", [])),
        "repeated_numbers": getattr(result, "repeated_numbers", 0),
        "diff_headers": [str(header) for header in result.diff_headers],
        "base_errors": [import_error_message(error.error) for error in result.base_errors],
        "row_errors": [
            [line, [import_error_message(error.error) for error in errors]]
            for line, errors in result.row_errors()[:PROBLEM_ROWS]
        ],
        "invalid_count": len(invalid),
        "invalid_rows": [{
            "number": row.number,
            "error_count": row.error_count,
            "field_specific_errors": {
                field: [str(message) for message in messages]
                for field, messages in row.field_specific_errors.items()
            },
            "non_field_specific_errors": [str(m) for m in row.non_field_specific_errors],
            "values": [_text(value) for value in row.values],
        } for row in invalid[:PROBLEM_ROWS]],
        "valid_count": len(valid),
        "valid_rows": [{
            "import_type": row.import_type,
            "spreadsheet_row": getattr(row, "spreadsheet_row", None),
            "skipped_errors": row_reasons(getattr(row, "skipped_errors", None)),
            "note": getattr(row, "note", ""),
            # The library's diff: HTML it escaped itself (diff_match_patch's
            # prettyHtml escapes &, < and >).
            "diff": [str(cell) for cell in (row.diff or [])],
        } for row in valid[:PREVIEW_ROWS]],
    }


def row_reasons(error):
    """A left-out row's reasons (a ValidationError), each led by its column
    as the sheet names it: "No HP: Invalid phone number: 0812-345"."""
    if not error:
        return []
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    headers = {**CUSTOMER_HEADERS, **OPPORTUNITY_HEADERS}
    reasons = []
    for field, messages in error.message_dict.items():
        column = headers.get(field, [None])[0]
        reasons += [f"{column}: {message}" if column else message for message in messages]
    return reasons


def _text(value):
    return "" if value is None else str(value)


class StoredPreview:
    """A summarize()d preview with the attributes and methods of the
    library's Result that the import page reads."""

    def __init__(self, data):
        self.totals = data.get("totals", {})
        self.total_rows = data.get("total_rows", 0)
        self.header_row = data.get("header_row", 1)
        self.unknown_columns = data.get("unknown_columns", [])
        self.repeated_numbers = data.get("repeated_numbers", 0)
        self.diff_headers = data.get("diff_headers", [])
        self.base_errors = data.get("base_errors", [])
        self._row_errors = [tuple(entry) for entry in data.get("row_errors", [])]
        self.invalid_count = data.get("invalid_count", 0)
        self.invalid_rows = [_Row(row) for row in data.get("invalid_rows", [])]
        self.valid_count = data.get("valid_count", 0)
        self._valid_rows = [_Row(row, skipped=True) for row in data.get("valid_rows", [])]
        for row in self._valid_rows:
            # Stored by the worker from the library's own escaped HTML.
            row.diff = [mark_safe(cell) for cell in row.diff]  # noqa: S308

    def valid_rows(self):
        return self._valid_rows

    def row_errors(self):
        return self._row_errors

    def has_errors(self):
        return bool(self.base_errors or self._row_errors)

    def has_validation_errors(self):
        return bool(self.invalid_count)


class _Row:
    def __init__(self, data, skipped=False):
        self.__dict__.update(data)
        if skipped:
            self.skipped_errors = _Messages(data.get("skipped_errors") or [])


class _Messages:
    """Like a ValidationError in the template: empty is false, ``.messages`` lists."""

    def __init__(self, messages):
        self.messages = messages

    def __bool__(self):
        return bool(self.messages)
