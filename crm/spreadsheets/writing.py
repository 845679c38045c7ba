"""Spreadsheets we write: text a spreadsheet program would run as a formula
made inert (and given back as it was when imported again), and the import
template."""

import tablib

# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
