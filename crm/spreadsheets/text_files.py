"""CSV files as our users' programs save them: in any of their encodings
(UTF-8 with or without a BOM, UTF-16, Windows-1252, DOS's cp850) and
delimiters (commas, semicolons where the decimal separator is a comma, as in
Indonesia, tabs), with a quote left open refused rather than misread."""

import codecs
import csv
import io

import tablib
from django.utils.translation import gettext as _
from import_export.formats import base_formats

from crm.spreadsheets.headers import HEADER_SEARCH_ROWS
from crm.spreadsheets.refusals import SpreadsheetRefused
from crm.spreadsheets.rows import INVISIBLE, read_rows

# Encodings tried in turn when the file has no byte order mark. Windows-1252
# leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); Latin-1
# decodes every byte, so it comes last.
CSV_ENCODINGS = ["utf-8-sig", "cp1252", "latin-1"]
CSV_DELIMITERS = ",;\t"


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
        text = decode_text(in_stream).translate(INVISIBLE)
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
