"""Real spreadsheet files built in tests: the bytes a user's program writes."""

import csv
import io

import openpyxl


def xlsx_bytes(rows):
    """An .xlsx workbook whose first sheet holds ``rows``."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows):
    """A UTF-8, comma-separated CSV of ``rows``."""
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode()
