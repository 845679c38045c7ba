"""Reading the spreadsheets our users really have, and writing safe ones.

Files come from Excel on Windows (Windows-1252, semicolons where the decimal
separator is a comma, as in Indonesia), from phones' contact exports (UTF-8,
sometimes with a BOM) and from marketplaces (commas). Headers come in
Indonesian or English, in any case and spacing.

refusals     SpreadsheetRefused, and the sentence a user reads for any error
rows         a sheet's rows read within the import's limits
headers      the header row found, header_key, the words naming a phone
text_files   CSV in any encoding and delimiter (SpreadsheetCSV)
workbooks    .xlsx and .xls (SpreadsheetXLSX, SpreadsheetXLS)
writing      formula-like text made inert; the import template
uploads      an upload kept between preview and confirmation

The names other modules use are importable from here.
"""

from crm.spreadsheets.headers import header_key, phone_rank, take_header_row
from crm.spreadsheets.refusals import SpreadsheetRefused, import_error_message
from crm.spreadsheets.rows import MAX_CELL_CHARS, MAX_COLUMNS, clean_text, read_rows
from crm.spreadsheets.text_files import SpreadsheetCSV, decode_text, sniff_delimiter
from crm.spreadsheets.uploads import SharedUploadStorage, purge_expired_uploads
from crm.spreadsheets.workbooks import SpreadsheetXLS, SpreadsheetXLSX, check_unpacked_size
from crm.spreadsheets.writing import (
    escape_formula,
    escape_formulas,
    import_template_workbook,
    unescape_formula,
)

__all__ = [
    "MAX_CELL_CHARS", "MAX_COLUMNS", "SharedUploadStorage", "SpreadsheetCSV",
    "SpreadsheetRefused", "SpreadsheetXLS", "SpreadsheetXLSX", "check_unpacked_size",
    "clean_text", "decode_text", "escape_formula", "escape_formulas", "header_key",
    "import_error_message", "import_template_workbook", "phone_rank", "purge_expired_uploads",
    "read_rows", "sniff_delimiter", "take_header_row", "unescape_formula",
]
