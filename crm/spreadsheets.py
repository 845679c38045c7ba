"""Reading the spreadsheets our users really have, and writing safe ones.

Files come from Excel on Windows (Windows-1252, semicolons where the decimal
separator is a comma, as in Indonesia), from phones' contact exports (UTF-8,
sometimes with a BOM) and from marketplaces (commas). Headers come in
Indonesian or English, in any case and spacing.
"""

import csv
import datetime
import re
import uuid

import tablib
from django.core.cache import caches
from import_export.formats import base_formats
from import_export.tmp_storages import CacheStorage

# Encodings tried in turn; Windows-1252 decodes any byte, so it comes last.
CSV_ENCODINGS = ["utf-8-sig", "cp1252"]
CSV_DELIMITERS = ",;\t"

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def decode_text(data):
    """``data`` (bytes) as text, in the first encoding that decodes it."""
    if isinstance(data, str):
        return data
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("cp1252 decodes every byte")  # pragma: no cover


def sniff_delimiter(text):
    """The delimiter of a CSV text: comma, semicolon or tab, by its header line."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        return max(CSV_DELIMITERS, key=header.count) if header else ","


class SpreadsheetCSV(base_formats.CSV):
    """CSV in any of the encodings and delimiters our users' files come in."""

    def is_binary(self):
        # Read bytes, so the encoding can be detected here, not assumed.
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        text = decode_text(in_stream)
        if not text.strip():
            return tablib.Dataset()
        return tablib.import_set(text, format="csv", delimiter=sniff_delimiter(text))


class SpreadsheetXLS(base_formats.XLS):
    """The old Excel format (.xls), read with xlrd, cells typed as the user sees them.

    The library's reader hands back Excel's raw floats: a date as the serial
    number 46000.0, a typed 081234567890 as 81234567890.0.
    """

    def create_dataset(self, in_stream):
        import xlrd

        try:
            book = xlrd.open_workbook(file_contents=in_stream)
        except xlrd.XLRDError as error:
            raise ValueError(str(error)) from error
        sheet = book.sheet_by_index(0)
        dataset = tablib.Dataset()
        if sheet.nrows == 0:
            return dataset
        dataset.headers = [str(cell.value).strip() for cell in sheet.row(0)]
        for index in range(1, sheet.nrows):
            dataset.append([_xls_value(cell, book.datemode) for cell in sheet.row(index)])
        return dataset


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


def header_key(text):
    """A header reduced to lower-case words: ' No. HP / WA ' -> 'no hp wa'."""
    return " ".join(re.findall(r"[^\W_]+", str(text or "").lower()))


def escape_formula(value):
    """A text cell that a spreadsheet would run as a formula, made inert.

    A leading apostrophe is how spreadsheet users mark text themselves; the
    import strips it again. Numbers are left alone (a negative amount is data).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_formulas(dataset):
    """Escape every formula-looking text cell of ``dataset`` in place."""
    rows = [tuple(escape_formula(cell) for cell in row) for row in dataset]
    headers = dataset.headers
    dataset.wipe()
    dataset.headers = headers
    for row in rows:
        dataset.append(row)
    return dataset


def import_template_workbook(resource_class):
    """XLSX bytes: the resource's import headers and its two example rows."""
    resource = resource_class()
    dataset = tablib.Dataset(headers=[f.column_name for f in resource.get_import_fields()])
    for example in resource_class.EXAMPLE_ROWS:
        dataset.append(example)
    return dataset.export("xlsx")


class SharedUploadStorage(CacheStorage):
    """Keeps an uploaded spreadsheet between the preview and the confirmation
    in the ``import_uploads`` cache, a table in the database.

    The library's default, a temporary file, is on one machine's disk: with
    several web processes behind a load balancer the confirmation can reach
    another machine and find no file. The database is shared by all of them.
    """

    def _cache(self):
        return caches["import_uploads"]

    def save(self, data):
        if not self.name:
            self.name = uuid.uuid4().hex
        self._cache().set(self.CACHE_PREFIX + self.name, data)

    def read(self):
        data = self._cache().get(self.CACHE_PREFIX + self.name)
        if data is None:
            raise FileNotFoundError(self.name)  # expired or already used
        return data if self.read_mode == "rb" or isinstance(data, str) else data.decode(
            self.encoding or "utf-8"
        )

    def remove(self):
        self._cache().delete(self.CACHE_PREFIX + self.name)
