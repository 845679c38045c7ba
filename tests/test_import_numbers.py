"""A WhatsApp number in a spreadsheet imports as itself, however the sheet wrote it,
or as an error on its row: never as another number."""


import phonenumbers
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Customer
from crm.phones import normalize_phone
from crm.resources import CustomerResource
from crm.spreadsheets import SpreadsheetCSV, SpreadsheetXLSX
from tests.spreadsheet_files import csv_bytes, xlsx_bytes
from tests.test_customer_import import CSV_FORMAT, XLSX_FORMAT, confirm, preview

# Indonesian mobile prefixes (Telkomsel, Indosat, XL, Axis, Tri, Smartfren).
PREFIXES = ["811", "812", "813", "821", "822", "823", "851", "852", "853", "814", "815",
            "816", "855", "856", "857", "858", "817", "818", "819", "859", "877", "878",
            "831", "832", "833", "838", "881", "882", "887", "888", "895", "896", "898"]


def is_valid(national):
    return phonenumbers.is_valid_number(phonenumbers.parse("+62" + national))


# The national number (8…): 9 to 12 digits, valid by the phonenumbers library.
nationals = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(PREFIXES),
    st.text("0123456789", min_size=6, max_size=9),
).filter(is_valid)


def grouped(digits, separator):
    return separator.join([digits[:4], digits[4:8], digits[8:]]).strip(separator)


# Each takes the national number and gives a cell: what a CSV or XLSX holds.
REPRESENTATIONS = {
    "number cell": lambda n: int("62" + n),
    "number cell without the 0": lambda n: int(n),
    "number cell as a float": lambda n: float("62" + n),
    "NNN.0": lambda n: f"62{n}.0",
    "NNN.0 without the 0": lambda n: f"{n}.0",
    "NNN.00": lambda n: f"0{n}.00",
    "exact e-notation": lambda n: f"6.2{n}e+{len(n) + 1}",
    "exact E-notation": lambda n: f"6.2{n}E+{len(n) + 1}",
    "spaces": lambda n: grouped("0" + n, " "),
    "dashes": lambda n: grouped("0" + n, "-"),
    "dots": lambda n: grouped("0" + n, "."),
    "brackets": lambda n: f"(0{n[:3]}) {n[3:7]} {n[7:]}".strip(),
    "+62": lambda n: f"+62 {n[:3]}-{n[3:7]}-{n[7:]}".rstrip("-"),
    "62 without +": lambda n: f"62{n}",
    "leading apostrophe": lambda n: f"'0{n}",
    "dashes and .0": lambda n: grouped("0" + n, "-") + ".0",
}


def import_file(data, file_format):
    """Read ``data`` as the admin does and import it for real; the result."""
    reader = SpreadsheetCSV() if file_format == "csv" else SpreadsheetXLSX()
    dataset = reader.create_dataset(data)
    return CustomerResource().import_data(dataset, dry_run=False, use_transactions=True)


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    numbers=st.lists(
        st.tuples(nationals, st.sampled_from(sorted(REPRESENTATIONS))),
        min_size=1, max_size=len(REPRESENTATIONS), unique_by=lambda pair: pair[0],
    ),
    file_format=st.sampled_from(["csv", "xlsx"]),
)
def test_every_representation_with_all_the_digits_imports_as_the_number_itself(
    db, numbers, file_format
):
    Customer.objects.all().delete()
    rows = [["Nama", "No HP"]]
    for index, (national, representation) in enumerate(numbers):
        cell = REPRESENTATIONS[representation](national)
        rows.append([f"Pelanggan {index}", cell if file_format == "xlsx" else str(cell)])
    data = csv_bytes(rows) if file_format == "csv" else xlsx_bytes(rows)
    result = import_file(data, file_format)
    assert not result.has_errors() and not result.has_validation_errors(), numbers
    stored = dict(Customer.objects.values_list("name", "phone"))
    assert stored == {f"Pelanggan {i}": "62" + n for i, (n, _r) in enumerate(numbers)}


@pytest.mark.parametrize("representation", sorted(REPRESENTATIONS))
def test_each_representation_of_a_known_number_normalises_to_it(representation):
    national = "81233003304"
    assert normalize_phone(REPRESENTATIONS[representation](national)) == "62" + national


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_the_numbers_of_the_report_import_as_themselves_through_the_admin(
    admin_client, file_format
):
    rows = [["Nama", "No HP"], ["Bu Sum", "6281233003304.0"], ["Pak Darto", "81233003305.0"],
            ["Dewi", "6.281233003302e+12"]]
    if file_format == CSV_FORMAT:
        upload = SimpleUploadedFile("angka.csv", csv_bytes(rows))
    else:
        upload = SimpleUploadedFile("angka.xlsx", xlsx_bytes(rows))
    response = preview(admin_client, upload, file_format)
    assert dict(response.context["result"].totals)["new"] == 3
    confirm(admin_client, response)
    assert dict(Customer.objects.values_list("name", "phone")) == {
        "Bu Sum": "6281233003304", "Pak Darto": "6281233003305", "Dewi": "6281233003302",
    }


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_a_number_that_lost_digits_is_an_error_on_its_row_quoting_the_cell(
    admin_client, file_format
):
    rows = [["Nama", "No HP"], ["Bu Sum", "0812-3456-7890"], ["Pak Darto", "6.28123E+12"]]
    if file_format == CSV_FORMAT:
        upload = SimpleUploadedFile("angka.csv", csv_bytes(rows))
    else:
        upload = SimpleUploadedFile("angka.xlsx", xlsx_bytes(rows))
    response = preview(admin_client, upload, file_format)
    (invalid,) = response.context["result"].invalid_rows
    assert invalid.number + 1 == 3  # the sheet's row
    assert "6.28123E+12" in " ".join(invalid.error_dict["phone"])
    assert "6.28123E+12" in response.content.decode()
    assert response.context.get("confirm_form") is None
    assert not Customer.objects.exists()
