"""Reading the spreadsheets our users really have, and writing safe ones.

Files come from Excel on Windows (Windows-1252, semicolons where the decimal
separator is a comma, as in Indonesia), from phones' contact exports (UTF-8,
sometimes with a BOM) and from marketplaces (commas). Headers come in
Indonesian or English, in any case and spacing.
"""

import codecs
import csv
import datetime
import html
import io
import itertools
import math
import re
import time
import uuid
import zipfile

import tablib
from django.conf import settings
from django.core.cache import caches
from django.db import connections, router
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from import_export.formats import base_formats
from import_export.tmp_storages import CacheStorage

# Encodings tried in turn when the file has no byte order mark. Windows-1252
# leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); Latin-1
# decodes every byte, so it comes last.
CSV_ENCODINGS = ["utf-8-sig", "cp1252", "latin-1"]
CSV_DELIMITERS = ",;\t"

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Reading limits besides settings.IMPORT_MAX_*: Excel's own longest cell, and
# far more columns than any of our imports has fields (a row's width costs
# memory for every row, even when its cells are empty).
MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 100
# Members of a real .xlsx compress about 5-12x (a 100,000-row sheet: 11x); a
# zip bomb 1,000x. Only members past 1 MB are judged: small ones cost nothing.
MAX_ZIP_RATIO = 100
ZIP_RATIO_FROM_BYTES = 1024 * 1024


class SpreadsheetRefused(ValueError):
    """A file past one of the import's limits, or unreadable; the message is
    a sentence for the user."""


def import_error_message(error):
    """The sentence a user reads for an exception met while importing.

    Ours (SpreadsheetRefused, the ValidationErrors and ValueErrors our
    resources and widgets raise) are sentences for the user already. Any
    other (a database error, a bug) is said in plain words: its class and
    message name server internals and library jargon.
    """
    from django.core.exceptions import ValidationError

    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, SpreadsheetRefused):
        return str(error)
    return _("The file could not be imported because of a problem on our side. Nothing was "
             "written. Try again later; if it happens again, send the file to whoever "
             "looks after this application.")


def _number(value):
    return formats.number_format(value, force_grouping=True)


# The header row is looked for in the first rows: shops put a title, a
# date or blank rows above it.
HEADER_SEARCH_ROWS = 20

# Characters a cell may carry without showing them: copied from WhatsApp, a
# web page or a phone's contacts. Non-breaking spaces become spaces;
# zero-width and direction marks (bidi) go.
_INVISIBLE = {
    **dict.fromkeys(map(ord, "\u00a0\u2007\u202f"), " "),
    **dict.fromkeys(
        map(ord, "\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
                 "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
        None,
    ),
}


_HAS_INVISIBLE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")


def clean_text(value):
    """A cell's text without invisible characters (see _INVISIBLE); others as they are."""
    if isinstance(value, str) and _HAS_INVISIBLE.search(value):
        return value.translate(_INVISIBLE)
    return value


def _is_blank(row):
    for cell in row:
        if cell is not None and cell != "" and (not isinstance(cell, str) or cell.strip()):
            return False
    return True


def _width(row):
    """The row's length without its trailing empty cells."""
    row = list(row)
    while row and row[-1] in (None, ""):
        row.pop()
    return len(row)


def _csv_width(head):
    """The number of columns of a CSV, by its first rows: the most common
    width of rows of two cells or more (the first of equals). A title has
    one cell; a row split by a stray delimiter has one more than the others."""
    widths = [len(row) for row in head if _width(row) >= 2]
    if not widths:
        return max(map(_width, head), default=0)
    return max(widths, key=lambda width: (widths.count(width), -widths.index(width)))


def read_rows(rows, from_csv=False):
    """A Dataset of ``rows`` (header first), stopping at the import's limits.

    Rows are counted while they are read, so a file past IMPORT_MAX_ROWS is
    refused after that many rows, not after all of them; so is a file still
    being read after IMPORT_READ_SECONDS. Every row is kept, blank ones too
    (but not those at the end), so dataset row ``n`` is row ``n + 1`` of the
    sheet: the row numbers shown are the sheet's. Columns are as many as the
    widest of the first HEADER_SEARCH_ROWS rows (the header may be below a
    title: see take_header_row), from a CSV as many as most of them have;
    shorter rows are padded. From a CSV, a longer row is refused (a stray
    delimiter shifted its cells); from a workbook, cells past the width,
    which no field could take, are dropped. A workbook's text is cleaned of
    invisible characters here (clean_text), a CSV's before it is parsed.
    """
    max_rows = settings.IMPORT_MAX_ROWS
    deadline = time.monotonic() + settings.IMPORT_READ_SECONDS
    rows = iter(rows)
    head = [list(row[:MAX_COLUMNS + 1]) for row in itertools.islice(rows, HEADER_SEARCH_ROWS)]
    width = max(map(_width, head), default=0)
    if from_csv:
        width = min(width, _csv_width(head))
    if width > MAX_COLUMNS:
        raise SpreadsheetRefused(
            _("The file has more than %(limit)s columns.") % {"limit": MAX_COLUMNS}
        )
    dataset = tablib.Dataset()
    blank_rows = []  # appended once a row with data follows them
    count = 0
    for number, row in enumerate(itertools.chain(head, rows), 1):
        if number % 1000 == 1 and time.monotonic() >= deadline:
            raise SpreadsheetRefused(
                _("The file took longer than %(seconds)s seconds to read. Split it into "
                  "smaller files.") % {"seconds": settings.IMPORT_READ_SECONDS}
            )
        if len(row) > width:
            if from_csv and any(cell not in (None, "") for cell in row[width:]):
                raise SpreadsheetRefused(
                    _("Row %(row)s has more cells than the header row. Is there a comma or "
                      "semicolon in a cell without quotes?") % {"row": number}
                )
            row = row[:width]
        if not from_csv:  # a CSV's text is cleaned whole, before it is parsed
            row = [clean_text(cell) for cell in row]
        row.extend(["" if from_csv else None] * (width - len(row)))
        for cell in row:
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise SpreadsheetRefused(
                    _("Row %(row)s has a cell longer than %(limit)s characters.")
                    % {"row": number, "limit": _number(MAX_CELL_CHARS)}
                )
        if number == 1:
            dataset.headers = row
            continue
        if _is_blank(row):
            blank_rows.append(row)
            continue
        count += len(blank_rows) + 1
        if count > max_rows:
            raise SpreadsheetRefused(
                _("The file has more than %(limit)s rows; at most %(limit)s can be imported "
                  "at once.") % {"limit": _number(max_rows)}
            )
        for blank in blank_rows:
            dataset.append(blank)
        blank_rows.clear()
        dataset.append(row)
    return dataset


def take_header_row(dataset, score):
    """Make the likeliest header among the first rows the dataset's header.

    ``score(cells)`` says how many of a row's cells are headers the import
    knows. The row scoring most (the first of equals) becomes the header
    and the rows above it go. Returns the sheet's number of that row (1 when
    it was the first).
    """
    candidates = [dataset.headers or [], *dataset[:HEADER_SEARCH_ROWS - 1]]
    scores = [score(row) for row in candidates]
    best = max(range(len(candidates)), key=lambda index: (scores[index], -index))
    if scores[best] < 2:
        # One known cell below the first row may be a value that reads like
        # a header ("WhatsApp" in a Sumber column): the first row stays.
        best = 0
    if best:
        header = ["" if cell is None else str(cell) for cell in candidates[best]]
        del dataset[0:best]
        dataset.headers = header
    return best + 1


# Byte order marks: Excel's "Unicode Text" is UTF-16 with one.
_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def decode_text(data):
    """``data`` (bytes) as text: by its byte order mark, else in the first of
    CSV_ENCODINGS that decodes it. Refused (SpreadsheetRefused) if it is not
    text (a picture renamed .csv)."""
    if isinstance(data, str):
        return data
    encodings = [encoding for bom, encoding in _BOMS if data.startswith(bom)][:1]
    if not encodings:
        # UTF-16 saved without a mark: every other byte of ASCII text is 0.
        for start, encoding in ((1, "utf-16-le"), (0, "utf-16-be")):
            sample = data[start:400:2]
            if sample and sample.count(0) > len(sample) / 2:
                encodings = [encoding]
    text = used = None
    for encoding in encodings or CSV_ENCODINGS:
        try:
            text, used = data.decode(encoding), encoding
            break
        except UnicodeDecodeError:
            continue
    if used in ("cp1252", "latin-1") and _looks_like_dos(text, data):
        text = data.decode("cp850")  # Excel's "CSV (MS-DOS)"
    if text is None or "\x00" in text:
        raise SpreadsheetRefused(
            _("The file is not a spreadsheet saved as text (CSV): it may be a picture or "
              "another kind of file. Open it in your spreadsheet program and save it as "
              "CSV or Excel (.xlsx).")
        )
    return text


def _looks_like_dos(text, data):
    """Whether ``data``, read as ``text`` by the Windows code pages, reads
    better as DOS's cp850 (Excel's "CSV (MS-DOS)": José is Jos\x82)."""
    if text.isascii():
        return False
    dos = data.decode("cp850")

    def letters(decoded):
        return sum(1 for char in decoded if not char.isascii() and char.isalpha())

    controls = any("\x80" <= char <= "\x9f" for char in text)
    return controls or letters(dos) > letters(text)


def sniff_delimiter(text):
    """The delimiter of a CSV text: comma, semicolon or tab, by its header line
    (the first line, or below a title without delimiters the first one with)."""
    lines = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    header = next((line for line in lines if any(map(line.count, CSV_DELIMITERS))), lines[0])
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
        # One pass over the whole text (0.06 s for 100,000 rows).
        text = decode_text(in_stream).translate(_INVISIBLE)
        if not text.strip():
            return tablib.Dataset()
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
        last = {"start": 1, "row": None}

        def tracked():
            for row in rows:
                last["row"] = row
                yield row
                last["start"] = rows.line_num + 1

        try:
            dataset = read_rows(tracked(), from_csv=True)
        except csv.Error as error:
            raise SpreadsheetRefused(
                _("The file could not be read as CSV (row %(row)s).") % {"row": rows.line_num}
            ) from error
        if unclosed_quote(text, last["row"]):
            raise SpreadsheetRefused(
                _("Row %(row)s opens a quote (\") that is never closed, so every line after "
                  "it was read as one cell. Close or remove that quote, and upload the file "
                  "again.") % {"row": last["start"]}
            )
        return dataset


def unclosed_quote(text, last_row):
    """Whether the CSV ended inside a quoted cell: the reader then glues the
    rest of the file into that cell (its quotes are odd in number, and the
    last row holds a line break)."""
    return bool(last_row) and any("\n" in (cell or "") for cell in last_row) and (
        text.count('"') % 2 == 1
    )


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


def header_key(text):
    """A header reduced to lower-case words: ' No. HP / WA ' -> 'no hp wa'."""
    return " ".join(re.findall(r"[^\W_]+", str(text or "").lower()))


def escape_formula(value):
    """A text cell that a spreadsheet would run as a formula, made inert.

    A leading apostrophe is how spreadsheet users mark text themselves; the
    import strips it again (unescape_formula). Text that already starts with
    apostrophes before such a cell gets one more, so that the import gives it
    back as it was. Numbers are left alone (a negative amount is data).
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_formula(value):
    """The cell as it was before escape_formula: exactly the apostrophe it
    adds goes, and only before what it is added to."""
    if isinstance(value, str) and value[:1] == "'" and value.lstrip("'").startswith(
        FORMULA_PREFIXES
    ):
        return value[1:]
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
    dataset = tablib.Dataset(headers=[f.column_name for f in resource.template_fields()])
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
        # Django's DatabaseCache deletes expired rows only once MAX_ENTRIES
        # is passed: abandoned previews' files (up to 13.5 MB each) would
        # stay in the table until then.
        purge_expired_uploads()
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


def purge_expired_uploads():
    """Delete the uploads whose time in the import_uploads cache ran out;
    returns how many. The table has Django's createcachetable layout, with
    an index on ``expires``."""
    cache = caches["import_uploads"]
    connection = connections[router.db_for_write(cache.cache_model_class)]
    table = connection.ops.quote_name(settings.CACHES["import_uploads"]["LOCATION"])
    now = timezone.now().replace(microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE expires < %s",
            [connection.ops.adapt_datetimefield_value(now)],
        )
        return cursor.rowcount
