"""A file's header row matched to a resource's columns: the spellings each
field is known by, the WhatsApp number column chosen among several phone
columns (the others fill its empty cells), what is left unknown, and a
sheet's totals row."""

from django.utils.functional import cached_property

from crm.spreadsheets.headers import TOTALS_WORDS, header_key, phone_rank


class SheetColumns:
    """The column matching of SpreadsheetResource.

    ``HEADERS`` maps field names to the header spellings recognised for them
    (besides the field's own column name). Reads the resource's ``fields``;
    fills its ``unknown_columns`` and ``number_alternates``.
    """

    HEADERS = {}
    # The field read from the WhatsApp number column, if the model has one.
    NUMBER_FIELD = None

    @cached_property
    def columns_by_key(self):
        """Our column name for each recognised header spelling, by header_key()."""
        by_key = {}
        for field_name, field in self.fields.items():
            for spelling in [field.column_name, *self.HEADERS.get(field_name, [])]:
                by_key[header_key(spelling)] = field.column_name
        return by_key

    def column_of(self, header):
        """Our column for a file's header, or None. Besides the spellings
        listed, a header naming a phone ("Nomor HP/WA", "HP 1", "No. Telp/HP",
        "Kontak") is the number column: left unrecognised, its customers
        would be imported without their numbers."""
        key = header_key(header)
        column = self.columns_by_key.get(key)
        if column is None and phone_rank(key) is not None:
            column = self.fields[self.NUMBER_FIELD].column_name if self.NUMBER_FIELD else None
        return column

    def recognised_count(self, cells):
        """How many of a row's cells are headers of different columns of ours."""
        return len({self.column_of(cell) for cell in cells} - {None})

    def recognised_headers(self, headers):
        """The file's headers with known spellings renamed to our column names.

        Of several number columns the one most likely to be WhatsApp's is
        taken (WA, then HP, then a telephone: "Telp." is often the shop's
        landline); the others fill its empty cells (see before_import)."""
        columns = [self.column_of(header) for header in headers]
        number = self.fields[self.NUMBER_FIELD].column_name if self.NUMBER_FIELD else None
        ranked = sorted(
            (phone_rank(header_key(headers[i])) or 0, i)
            for i, column in enumerate(columns) if number and column == number
        )
        self.number_alternates = [headers[i] for _rank, i in ranked[1:]]
        taken = set()
        renamed = [None] * len(headers)
        if ranked:
            renamed[ranked[0][1]] = number
            taken.add(number)
        for index, header in enumerate(headers):
            if renamed[index] is not None:
                continue
            column = columns[index]
            if column is None or column in taken:
                if header_key(header) and header not in self.number_alternates:
                    self.unknown_columns.append(str(header).strip())
                renamed[index] = f"(ignored) {header}"
            else:
                taken.add(column)
                renamed[index] = column
        return renamed

    def fill_empty_numbers(self, dataset):
        """A row whose number column is empty takes the number of the next
        number column that has one (a sheet with No HP and No WA)."""
        number = self.fields[self.NUMBER_FIELD].column_name
        if not self.number_alternates or number not in dataset.headers:
            return
        alternates = [dataset.headers.index(f"(ignored) {h}") for h in self.number_alternates]
        index = dataset.headers.index(number)
        values = []
        for row in dataset:
            value = row[index]
            if value is None or not str(value).strip():
                value = next((row[i] for i in alternates if str(row[i] or "").strip()), value)
            values.append(value)
        del dataset[number]
        dataset.insert_col(index, values, header=number)

    def is_totals_row(self, row):
        """A sheet's totals row ("TOTAL", "Jumlah") without a number: not a record."""
        number = self.fields[self.NUMBER_FIELD].column_name if self.NUMBER_FIELD else None
        if number is None or str(row.get(number) or "").strip():
            return False
        return any(header_key(value) in TOTALS_WORDS for value in row.values())
