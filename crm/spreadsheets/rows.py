"""A sheet's rows read into a Dataset within the import's limits (rows,
columns, cell length, reading time), cleaned of invisible characters, the
sheet's row numbers kept."""

import itertools
import re
import time

import tablib
from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _

from crm.spreadsheets.headers import HEADER_SEARCH_ROWS
from crm.spreadsheets.refusals import SpreadsheetRefused

# Reading limits besides settings.IMPORT_MAX_*: Excel's own longest cell, and
# far more columns than any of our imports has fields (a row's width costs
# memory for every row, even when its cells are empty).
MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 100


def _number(value):
    return formats.number_format(value, force_grouping=True)


# Characters a cell may carry without showing them: copied from WhatsApp, a
# web page or a phone's contacts. Non-breaking spaces become spaces;
# zero-width and direction marks (bidi) go.
INVISIBLE = {
    **dict.fromkeys(map(ord, "\u00a0\u2007\u202f"), " "),
    **dict.fromkeys(
        map(ord, "\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
                 "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
        None,
    ),
}
_HAS_INVISIBLE = re.compile("[" + "".join(map(chr, INVISIBLE)) + "]")


def clean_text(value):
    """A cell's text without invisible characters (see INVISIBLE); others as they are."""
    if isinstance(value, str) and _HAS_INVISIBLE.search(value):
        return value.translate(INVISIBLE)
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
