"""Contacts exported from phones, Google and Outlook, read as customer rows.

The Contacts apps of Android and the iPhone export vCard (.vcf, versions
2.1, 3.0 and 4.0), parsed here with vobject; Google Contacts and Outlook
export CSV with their own columns, which are rewritten here into ours. Each
contact becomes one row with the customer import's column names (see
CustomerResource), its mobile number under No HP. A contact with no mobile
number (or no name) stays a row, with the reason under SKIP_COLUMN, so the
preview lists it as skipped and says why.
"""

import dataclasses

import phonenumbers
from django.utils.translation import gettext as _
from import_export.formats import base_formats

from crm.phones import InvalidPhoneNumber, format_phone, normalize_phone
from crm.spreadsheets.headers import header_key
from crm.spreadsheets.refusals import SpreadsheetRefused
from crm.spreadsheets.rows import read_rows

SKIP_COLUMN = "Kontak dilewati"
COLUMNS = ["Nama", "No HP", "Email", "Nama Usaha", "Catatan", SKIP_COLUMN]

# Words in a number's label (vCard TYPE, iPhone's X-ABLabel, Google's
# "Phone 1 - Label", an Outlook column) that mark it as a mobile number.
MOBILE_WORDS = {
    "mobile", "cell", "cellular", "iphone", "seluler", "ponsel", "hp", "handphone",
    "whatsapp", "wa",
}

# Google writes several values into one cell: "0812… ::: 0813…".
GOOGLE_SEPARATOR = " ::: "


@dataclasses.dataclass
class Contact:
    name: str = ""
    business_name: str = ""
    email: str = ""
    notes: str = ""
    # (label, number as written), in the order of the file.
    phones: list = dataclasses.field(default_factory=list)

    def as_row(self):
        """The contact as a row of COLUMNS."""
        mobile, others, reason = choose_mobile(self.phones)
        name = self.name or self.business_name
        notes = self.notes
        if others:
            notes = "\n".join(filter(None, [notes, _("Other numbers: %(numbers)s")
                                            % {"numbers": ", ".join(others)}]))
        if reason is None and not name:
            reason = _("The contact with the number %(number)s has no name.") % {
                "number": format_phone(mobile)
            }
        elif reason is not None:
            reason = f"{name or _('A contact without a name')}: {reason}"
        return [name, "" if reason else mobile, self.email, self.business_name, notes,
                reason or ""]


def is_mobile_label(label):
    return bool(MOBILE_WORDS & set(header_key(label).split()))


def is_mobile_number(digits):
    """Whether the stored digits are a mobile number (one that can have WhatsApp)."""
    number = phonenumbers.parse("+" + digits)
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
    )


def choose_mobile(phones):
    """(the mobile number's digits, the other numbers as written, None), or
    (None, [], the reason there is none).

    The first number labelled mobile that is a valid number; else the first
    valid number that is a mobile one.
    """
    valid = []
    for label, written in phones:
        try:
            valid.append((label, written, normalize_phone(written)))
        except InvalidPhoneNumber:
            continue
    chosen = next((p for p in valid if is_mobile_label(p[0])), None)
    chosen = chosen or next((p for p in valid if is_mobile_number(p[2])), None)
    if chosen is None:
        if not phones:
            return None, [], _("no phone number.")
        numbers = ", ".join(written for _label, written in phones)
        return None, [], _("no mobile number (only %(numbers)s).") % {"numbers": numbers}
    # The other mobile numbers first: the ones a user may want instead.
    others = sorted(
        (p for p in valid if p[2] != chosen[2]), key=lambda p: not is_mobile_number(p[2])
    )
    return chosen[2], list(dict.fromkeys(written for _label, written, _d in others)), None


# vCard (.vcf)

def read_vcards(text):
    """The Contacts in a vCard text, one by one (vCard 2.1, 3.0 and 4.0)."""
    import vobject
    from vobject.base import ParseError

    try:
        # allowQP: vCard 2.1's quoted-printable lines, continued by a
        # trailing "=", as Android writes names in non-ASCII letters.
        for card in vobject.readComponents(text, allowQP=True):
            if card.name.upper() == "VCARD":
                yield _vcard_contact(card)
    except (ParseError, ValueError, LookupError) as error:
        line = getattr(error, "lineNumber", None)
        raise SpreadsheetRefused(
            _("The contacts file (vCard) could not be read near line %(line)s. Export the "
              "contacts again from the phone.") % {"line": line} if line else
            _("The contacts file (vCard) could not be read. Export the contacts again from "
              "the phone.")
        ) from error


def _vcard_contact(card):
    contents = card.contents
    contact = Contact()
    contact.name = _first_text(contents.get("fn")) or _structured_name(contents.get("n"))
    org = _first_value(contents.get("org"))
    contact.business_name = _clean(org[0] if isinstance(org, list) and org else org)
    contact.email = _first_text(contents.get("email"))
    contact.notes = _first_text(contents.get("note"))
    labels = {
        line.group: str(line.value) for line in contents.get("x-ablabel", []) if line.group
    }
    for line in contents.get("tel", []):
        types = [t for value in line.params.get("TYPE", []) for t in value.split(",")]
        types += line.singletonparams  # vCard 2.1: TEL;CELL;PREF:…
        if line.group in labels:
            # iPhone: item1.TEL with item1.X-ABLabel:_$!<Mobile>!$_ or "HP".
            types.append(labels[line.group])
        number = str(line.value).strip()
        # vCard 4.0: TEL;VALUE=uri:tel:+62-812-…;ext=1
        number = number.removeprefix("tel:").split(";")[0]
        if number:
            contact.phones.append((" ".join(types), number))
    return contact


def _first_value(lines):
    return lines[0].value if lines else ""


def _first_text(lines):
    return _clean(_first_value(lines))


def _structured_name(lines):
    name = _first_value(lines)
    if not name or isinstance(name, str):
        return _clean(name.replace(";", " ") if name else "")
    parts = [name.prefix, name.given, name.additional, name.family, name.suffix]
    return _clean(" ".join(" ".join(p) if isinstance(p, list) else p for p in parts))


def _clean(text):
    return " ".join(str(text or "").split())


def decode_vcard(data):
    """A vCard file's text: UTF-8 (phones), UTF-16 with its BOM, else Windows-1252."""
    if isinstance(data, str):
        return data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def looks_like_vcard(data):
    """Whether the start of a file (bytes) is a vCard."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head[:4096 - len(head) % 2].decode("utf-16", errors="ignore").encode()
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCARD")


class SpreadsheetVCF(base_formats.Format):
    """Contacts from a phone (.vcf), read as customer rows within the import's
    limits (rows, reading time, cell length: crm.spreadsheets.rows.read_rows).

    vobject is thorough but slow: 10,000 contacts read in 16 s here, so past
    about 25,000 the reading time limit refuses the file. A phone's contacts
    number in the hundreds or a few thousand.
    """

    def __init__(self, encoding=None):
        # Given by the admin as to every format; the file's text says its own.
        self.encoding = encoding

    def get_title(self):
        return "vcf"

    def get_extension(self):
        return "vcf"

    def get_content_type(self):
        return "text/vcard"

    def can_import(self):
        return True

    def create_dataset(self, in_stream):
        text = decode_vcard(in_stream)
        rows = (contact.as_row() for contact in read_vcards(text))
        return read_rows(_with_header(rows))


def _with_header(rows):
    yield COLUMNS
    yield from rows


# Google Contacts and Outlook CSV

def rewrite_contacts_csv(dataset):
    """If ``dataset`` is a Google Contacts or Outlook export, rewrite it in
    place as COLUMNS, one row per contact in the file's order (so row numbers
    stay the file's). Returns whether it was one."""
    keys = [header_key(header) for header in dataset.headers or []]
    if "phone 1 value" in keys:
        read = _google_contact
    elif "mobile phone" in keys and "first name" in keys:
        read = _outlook_contact
    else:
        return False
    rows = [read(dict(zip(keys, row, strict=True))).as_row() for row in dataset]
    dataset.wipe()
    dataset.headers = COLUMNS
    for row in rows:
        dataset.append(row)
    return True


def _cell(row, key):
    return _clean(row.get(key))


def _joined(row, *keys):
    return _clean(" ".join(_cell(row, key) for key in keys))


def _google_contact(row):
    """Google's current columns (First Name, Phone 1 - Label, Organization
    Name) and its older ones (Name, Given Name, Phone 1 - Type, Organization
    1 - Name)."""
    contact = Contact(
        name=_cell(row, "name")
        or _joined(row, "name prefix", "first name", "middle name", "last name", "name suffix")
        or _joined(row, "given name", "additional name", "family name")
        or _cell(row, "nickname") or _cell(row, "file as"),
        business_name=_cell(row, "organization name") or _cell(row, "organization 1 name"),
        email=_cell(row, "e mail 1 value").split(GOOGLE_SEPARATOR.strip())[0].strip(),
        notes=str(row.get("notes") or "").strip(),
    )
    index = 1
    while f"phone {index} value" in row:
        label = _cell(row, f"phone {index} label") or _cell(row, f"phone {index} type")
        for number in str(row.get(f"phone {index} value") or "").split(GOOGLE_SEPARATOR.strip()):
            if number.strip():
                contact.phones.append((label, number.strip()))
        index += 1
    return contact


OUTLOOK_PHONES = [
    "mobile phone", "primary phone", "business phone", "business phone 2", "home phone",
    "home phone 2", "other phone", "car phone", "company main phone",
]


def _outlook_contact(row):
    return Contact(
        name=_joined(row, "title", "first name", "middle name", "last name", "suffix"),
        business_name=_cell(row, "company"),
        email=_cell(row, "e mail address"),
        notes=str(row.get("notes") or "").strip(),
        phones=[(key, _cell(row, key)) for key in OUTLOOK_PHONES if _cell(row, key)],
    )


def take_skip_reasons(dataset):
    """Google/Outlook CSVs rewritten (rewrite_contacts_csv), then the skip
    column taken out of ``dataset``: {row number (1 = first data row): why
    the contact is skipped}."""
    rewrite_contacts_csv(dataset)
    if SKIP_COLUMN not in (dataset.headers or []):
        return {}
    reasons = dataset[SKIP_COLUMN]
    del dataset[SKIP_COLUMN]
    return {number: reason for number, reason in enumerate(reasons, 1) if reason}
