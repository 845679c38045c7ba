"""Excel workbooks (.xlsx streamed, the old .xls): their size checked before
they are unpacked, the sheet with the data chosen, a formula without its
stored result refused, cells typed as the user sees them."""

import datetime
import html
import io
import itertools
import math
import re
import zipfile

import tablib
from django.conf import settings
from django.utils.translation import gettext as _
from import_export.formats import base_formats

from crm.spreadsheets.refusals import SpreadsheetRefused
from crm.spreadsheets.rows import read_rows

# Members of a real .xlsx compress about 5-12x (a 100,000-row sheet: 11x); a
# zip bomb 1,000x. Only members past 1 MB are judged: small ones cost nothing.
MAX_ZIP_RATIO = 100
ZIP_RATIO_FROM_BYTES = 1024 * 1024


class SpreadsheetXLSX(base_formats.XLSX):
    """Excel's .xlsx, streamed from a file whose unpacked size was checked first.

    An .xlsx is a zip of XML: 1 MB can unpack to a 1 GB cell, which the stock
    reader holds in memory whole (a worker went from 417 MB to 2.38 GB). The
    zip's own listing of sizes is checked before anything is unpacked; the
    zip module never unpacks more than the size listed (past it, the
    member's checksum fails).
    """

    def create_dataset(self, in_stream):
        import openpyxl

        check_unpacked_size(in_stream)
        # read_only: rows are parsed one by one as they are asked for;
        # defusedxml (installed) refuses the XML entity bombs.
        book = openpyxl.load_workbook(
            io.BytesIO(in_stream), read_only=True, data_only=True, keep_links=False
        )
        try:
            sheet = data_sheet(book)
            if sheet is None:
                return tablib.Dataset()
            refuse_formulas_without_results(sheet)
            # The file's own <dimension> may claim a million rows of 16,384
            # columns, which openpyxl would fill in with empty cells.
            sheet.reset_dimensions()
            return read_rows(sheet.iter_rows(values_only=True))
        finally:
            book.close()


# How many rows of each sheet are looked at to find the one with the data.
DATA_SHEET_ROWS = 50
_PHONE_LIKE_CELL = re.compile(r"\+?[\d\s\-.()]{9,}")


def data_sheet(book):
    """The sheet to import: the one shown when the file was saved, unless
    another holds more phone numbers in its first rows (a file saved while
    its summary or instructions tab was open). Chart sheets hold no rows."""
    sheets = [sheet for sheet in book.worksheets if hasattr(sheet, "iter_rows")]
    active = book.active if book.active in sheets else (sheets[0] if sheets else None)
    if len(sheets) < 2:
        return active
    counts = {sheet.title: _phone_like_cells(sheet) for sheet in sheets}
    best = max(sheets, key=lambda sheet: counts[sheet.title])
    return best if counts[best.title] > counts[active.title] else active


def _phone_like_cells(sheet):
    """How many cells of the sheet's first rows look like phone numbers."""
    rows = sheet.iter_rows(max_row=DATA_SHEET_ROWS, values_only=True)
    return sum(
        1 for row in rows for cell in row
        if isinstance(cell, int | float) and math.isfinite(cell)
        and 8 <= len(str(int(cell))) <= 15
        or isinstance(cell, str) and _PHONE_LIKE_CELL.fullmatch(cell.strip())
    )


# A cell holding a formula but no stored result: <c r="B3" ...><f>...</f></c>.
_FORMULA_WITHOUT_RESULT = re.compile(
    rb'<(?:\w+:)?c r="([A-Z]+\d+)"[^>]*>\s*<(?:\w+:)?f\b[^>]*(?:/>|>([^<]*)</(?:\w+:)?f>)'
    rb"\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)


def refuse_formulas_without_results(sheet):
    """Refuse a sheet with a formula whose result was never stored.

    Excel and LibreOffice store each formula's result with it; a file
    written by another program may not, and the cell then reads as empty: a
    customer would be imported without the number the formula makes.
    """
    with sheet._get_source() as source:  # the sheet's XML, as openpyxl reads it
        xml = source.read()
    if b"<f" not in xml and b":f" not in xml:
        return
    found = _FORMULA_WITHOUT_RESULT.search(xml)
    if found:
        cell = found.group(1).decode()
        formula = html.unescape((found.group(2) or b"").decode(errors="replace"))
        raise SpreadsheetRefused(
            _("Cell %(cell)s holds a formula (=%(formula)s) whose result is not stored in "
              "the file. Open the file in Excel or LibreOffice and save it again, so the "
              "results are stored, then upload it.") % {"cell": cell, "formula": formula}
        )


def check_unpacked_size(data):
    """Refuse an .xlsx (zip) whose members unpack past IMPORT_MAX_UNPACKED_MB,
    or unpack as only a zip bomb does."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as error:
        raise SpreadsheetRefused(_("The file is not an .xlsx workbook.")) from error
    limit_mb = settings.IMPORT_MAX_UNPACKED_MB
    too_big = sum(member.file_size for member in members) > limit_mb * 1024 * 1024
    bomb = any(
        member.file_size > ZIP_RATIO_FROM_BYTES
        and member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if too_big or bomb:
        raise SpreadsheetRefused(
            _("The workbook unpacks to more than %(limit)s MB, or is packed like an attack "
              "(a zip bomb). Save it again from your spreadsheet program, or split it.")
            % {"limit": limit_mb}
        )


class SpreadsheetXLS(base_formats.XLS):
    """The old Excel format (.xls), read with xlrd, cells typed as the user sees them.

    The library's reader hands back Excel's raw floats: a date as the serial
    number 46000.0, a typed 081234567890 as 81234567890.0.
    """

    def create_dataset(self, in_stream):
        import xlrd

        try:
            book = xlrd.open_workbook(file_contents=in_stream, on_demand=True)
        except xlrd.XLRDError as error:
            raise ValueError(str(error)) from error
        sheet = book.sheet_by_index(0)
        if sheet.nrows == 0:
            return tablib.Dataset()
        rows = (
            [_xls_value(cell, book.datemode) for cell in sheet.row(index)]
            for index in range(1, sheet.nrows)
        )
        header = [str(cell.value).strip() for cell in sheet.row(0)]
        return read_rows(itertools.chain([header], rows))


def _xls_value(cell, datemode):
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        moment = xlrd.xldate_as_datetime(cell.value, datemode)
        return moment.date() if moment.time() == datetime.time() else moment
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return int(cell.value)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    return cell.value
