"""Not one English word on an Indonesian page, and no Indonesian on an English one.

Every admin page a user reaches from the menu (the same walk as
``manage.py check_pages``: each model's list, add, change, history, import,
export and other pages with a record to open, the dashboard, the board, the
WhatsApp send page, the user and group pages, the password change page), plus
the login page, is opened as the owner in Indonesian and in English. Its
visible text (the HTML's text outside <script>, <style> and <template>, and
the title, aria-label, placeholder and alt attributes and the labels of
buttons) is searched for words of the other language: a string nobody
translated (a Django, jazzmin, import-export or simple-history default, or our
own string without gettext) shows up as such a word.

The records are named with made-up words (``Zorvex``, ``Qintaru``…) that are
neither English nor Indonesian, so the user's own data never trips the check.
What is Indonesian on purpose in both languages is allowed: the month names of
dates (crm/formatting.py), the template placeholders such as ``{nama}``, the
roles' names (groups the app creates), a spreadsheet's column headers in
<code>, and text inside an element marked with another ``lang`` (the
language chooser).
"""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.test import Client, RequestFactory
from django.urls import reverse

from crm.formatting import INDONESIAN_MONTHS
from crm.management.commands.check_pages import Command as CheckPages
from crm.models import (
    Customer,
    MessageTemplate,
    Opportunity,
    Payment,
)
from crm.roles import OWNER, ROLE_PERMISSIONS, sync_roles

# English words that must never be seen on an Indonesian page: the UI's
# verbs and nouns, Django's and the theme's defaults, and English sentences'
# glue words. Matched as whole words, with their case.
ENGLISH_WORDS = [
    # Django admin and jazzmin
    "General", "Changes", "Change", "None", "(required)", "Save", "Delete", "History", "Add",
    "Search", "Filter", "Filters", "Date", "Time", "Yes", "Unknown", "Today", "Now", "Show",
    "Hide", "Home", "Dashboard", "Edit", "View", "Close", "Cancel", "Submit", "Back", "Next",
    "Previous", "Select", "Selected", "Clear", "Remove", "Log out", "Logout", "Log in",
    "Login", "Password", "Username", "Users", "User", "Groups", "Group", "Permissions",
    "Actions", "Action", "Go", "Run", "Send", "Preview", "Confirm", "Error", "Errors",
    "Please", "Choose", "Can", "Clock", "Calendar", "Midnight", "Noon", "Yesterday", "Tomorrow",
    "Jazzmin", "Loading", "Page", "Author", "Comment", "Object", "Revert", "Compare",
    "Collapse", "Expand", "Toggle", "navigation", "Navigation", "Skip", "Theme",
    "Any date", "Past 7 days", "This month", "This year", "All", "results", "result",
    "Welcome", "Documentation", "Recent actions", "My actions", "Apply", "Reset",
    "Import", "Export", "Upload", "Download", "File", "Resource",
    # the product's own words
    "Customers", "Customer", "Opportunities", "Opportunity", "Messages", "Message",
    "Board", "Settings", "Won", "Lost", "Paid", "Unpaid", "Down payment",
    "Record payment", "Payments", "Payment", "Amount", "Stage", "Owner", "Created",
    "Updated", "Notes", "Name", "Reason",
    # English sentences
    "the", "and", "of", "to", "is", "are", "was", "by", "for", "with", "from", "this",
    "that", "you", "your", "has", "have", "been", "not", "or", "an", "at", "on",
]
# "No" only where it is English, not the Indonesian "No HP" / "No." (nomor).
ENGLISH_PATTERNS = [r"\bNo\b(?!\.| HP| WA| WhatsApp| telp| Telp| urut)"]
# The raw stage codes, shown instead of the stage's name.
STAGE_CODES = ["prospect", "contacted", "proposal", "negotiation", "won", "lost"]

# Indonesian words that must never be seen on an English page.
INDONESIAN_WORDS = [
    "Simpan", "Hapus", "Pelanggan", "pelanggan", "Peluang", "peluang", "Tidak", "tidak",
    "Tidak ada", "Tambah", "Tambahkan", "tambahkan", "Ubah", "ubah", "Cari", "Saring",
    "Riwayat", "riwayat", "Ya", "Kirim", "kirim", "Batal", "Menang", "Papan", "Pesan",
    "pesan", "Dasbor", "Pengaturan", "Lunas", "Belum", "belum", "Sudah", "sudah",
    "Tanggal", "tanggal", "Hari ini", "Sekarang", "Keluar", "Masuk", "Sandi", "sandi",
    "Pengguna", "pengguna", "Grup", "Impor", "impor", "Ekspor", "ekspor", "Pilih", "pilih",
    "Semua", "semua", "Halaman", "Perubahan", "perubahan", "Umum", "Jumlah", "jumlah",
    "Nama", "nama", "Kota", "Usaha", "Catat", "pembayaran", "Pembayaran", "Pratinjau",
    "Tutup", "Kembali", "Berikutnya", "Sebelumnya", "Kemarin", "Besok", "Tahun", "Bulan",
    "Minggu", "Lihat", "lihat", "Kesalahan", "harus", "wajib", "Wajib", "Catatan",
    "Tahap", "tahap", "Pemilik", "Alasan", "Dibuat", "Diperbarui", "Pilihan", "Beranda",
    "dan", "yang", "untuk", "dengan", "dari", "ini", "itu", "atau", "ke", "di", "akan",
    "belum", "oleh", "pada", "tanpa", "bisa", "dapat", "anda", "Anda",
]

VISIBLE_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
BUTTON_INPUTS = {"submit", "button", "reset"}
# <code>: a spreadsheet's column headers, Indonesian in the file whatever the
# interface language.
HIDDEN_TAGS = {"script", "style", "template", "code"}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}
# Indonesian on purpose in both languages.
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
MONTHS = re.compile(r"\b(?:" + "|".join(INDONESIAN_MONTHS) + r")\b")
# The roles are groups the app creates, named in Indonesian (crm/roles.py):
# data, like a customer's name.
ROLE_NAMES = re.compile(r"\b(?:" + "|".join(ROLE_PERMISSIONS) + r")\b")

# The made-up names of the test's records: no language's words.
MADE_UP = {
    "customer": "Zorvex Qintaru",
    "business": "Qintaru Vexlo",
    "city": "Zubrovka",
    "deal": "Xylotek 7",
    "template": "Vrolm Kazu",
    "owner": "qzowner",
}


class VisibleText(HTMLParser):
    """The pieces of a page's text a user sees or hears, each with its tag."""

    def __init__(self, language):
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack = []  # (tag, hidden, other language)
        self.pieces = []

    def _hidden(self):
        return any(hidden or other for _tag, hidden, other in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = (attrs.get("lang") or "").split("-")[0]
        other = bool(lang) and lang != self.language and tag != "html"
        hidden = tag in HIDDEN_TAGS
        if not (self._hidden() or hidden or other):
            for name in VISIBLE_ATTRIBUTES:
                if attrs.get(name):
                    self.pieces.append((f"{tag}[{name}]", attrs[name]))
            if tag == "input" and attrs.get("type") in BUTTON_INPUTS and attrs.get("value"):
                self.pieces.append(("input[value]", attrs["value"]))
        if tag not in VOID_TAGS:
            self.stack.append((tag, hidden, other))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        # Browsers forgive unclosed tags: close up to the matching one.
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._hidden():
            tag = self.stack[-1][0] if self.stack else "?"
            self.pieces.append((tag, text))


def visible_text(html, language):
    parser = VisibleText(language)
    parser.feed(html)
    parser.close()
    return parser.pieces


def _word_pattern(words):
    escaped = sorted((re.escape(word) for word in words), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(escaped) + r")(?![\w-])")


FOREIGN = {
    "id": [
        _word_pattern(ENGLISH_WORDS),
        *(re.compile(pattern) for pattern in ENGLISH_PATTERNS),
        _word_pattern(STAGE_CODES),
    ],
    "en": [_word_pattern(INDONESIAN_WORDS)],
}


def foreign_words(html, language):
    """[(word, tag, the text it was found in)] of the other language's words."""
    found = []
    for tag, text in visible_text(html, language):
        cleaned = ROLE_NAMES.sub(" ", MONTHS.sub(" ", PLACEHOLDER.sub(" ", text)))
        for pattern in FOREIGN[language]:
            for match in pattern.finditer(cleaned):
                found.append((match.group(0), tag, text[:120]))
    return found


# --- The walk ---------------------------------------------------------------


def make_records(user_model):
    """An owner and one record of every kind a page needs, all with made-up names."""
    # A live server's test flushes the database after it, the role groups the
    # migrations made with it: make them again.
    sync_roles(Group, Permission)
    owner = user_model.objects.create_user(
        MADE_UP["owner"], password="zq-8812-xv", is_staff=True)
    owner.groups.add(Group.objects.get(name=OWNER))
    template = MessageTemplate.objects.create(name=MADE_UP["template"], text="Zorb {nama}")
    customer = Customer.objects.create(
        name=MADE_UP["customer"], phone="+6281234500077", business_name=MADE_UP["business"],
        city=MADE_UP["city"], owner=owner)
    customer.city = "Zubrovka Qaz"
    customer.save()  # a history record with a change
    deal = Opportunity(customer=customer, title=MADE_UP["deal"], amount=1_260_000, owner=owner)
    deal.save()
    deal.move_to_stage("negotiation", by=owner)
    deal.move_to_stage("won", by=owner)
    Payment.objects.create(opportunity=deal, amount=260_000, recorded_by=owner)
    # A deal in each other stage: every stage's badge and board column is shown.
    for number, stage in enumerate(["prospect", "contacted", "proposal", "negotiation"]):
        Opportunity.objects.create(
            customer=customer, title=f"Xylotek {number + 10}", amount=90_000, stage=stage,
            owner=owner)
    other = Opportunity.objects.create(
        customer=customer, title="Xylotek 20", amount=90_000, owner=owner)
    other.move_to_stage("lost", by=owner, lost_reason="Qwazzle")
    client = Client(raise_request_exception=False)
    CheckPages().make_records(owner, client)
    # make_records's deleted customer is called "Page check": made up here too.
    Customer.history.filter(name="Page check").update(name="Qorpa Zindle")
    assert template.pk
    return owner


@pytest.fixture
def records(db, django_user_model):
    return make_records(django_user_model)


def pages_of_the_menu(owner):
    """{url: what} of every page the owner reaches from the menu (check_pages's walk)."""
    request = RequestFactory().get("/admin/")
    request.user = owner
    pages, not_opened = CheckPages().pages(request)
    missing = [(url, why) for url, why in not_opened if "no record" in why or "no history" in why]
    assert not missing, f"pages without a record to open: {missing}"
    pages[reverse("admin:password_change")] = "password change"
    return pages


# Pages with untranslated text still to fix (issue 19, point 8). Each stays
# listed only while it still fails: test_the_known_gaps_are_still_gaps fails
# once one is mended, so the list can only shrink.
KNOWN_GAPS = {
    r"^/admin/auth/(group/|user/\d+/change/)": "permission names are stored in English by migrate "
                           "(a label built with gettext from the action and the model's name)",
    r"^/admin/crm/(customer|opportunity)/export/$": "import-export labels a column with its "
                                                    "English field name and our header",
    r"^/admin/crm/deletedcustomer/": "simple-history's own field names and 'as of' title",
    r"/history/$": "simple-history shows an empty change reason as 'None'",
    r"^/admin/axes/accesslog/": "axes' English __str__ ('Access Log for …') as the title",
}


def known_gap(url):
    return next((reason for pattern, reason in KNOWN_GAPS.items() if re.search(pattern, url)), None)


def walk(client, pages, language):
    """(pages opened, {(word, where, text): [urls]}) of the other language's words."""
    found = {}
    opened = 0
    for url in pages:
        response = client.get(url)
        if response.status_code != 200:
            continue  # check_pages's own test holds every page to 200
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        opened += 1
        for word, tag, text in foreign_words(response.content.decode(), language):
            found.setdefault((word, tag, text), []).append(url)
    return opened, found


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_page_of_the_menu_speaks_one_language(records, language, settings):
    settings.WHITENOISE_USE_FINDERS = True
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    login_html = client.get(reverse("admin:login")).content.decode()
    found = {}
    for word, tag, text in foreign_words(login_html, language):
        found.setdefault((word, tag, text), []).append(reverse("admin:login"))

    client.force_login(records)
    opened, on_pages = walk(client, pages_of_the_menu(records), language)
    for key, urls in on_pages.items():
        found.setdefault(key, []).extend(url for url in urls if not known_gap(url))
    found = {key: urls for key, urls in found.items() if urls}
    assert opened > 40, f"only {opened} pages opened"
    problems = [
        f"{word!r} in <{tag}> {text!r} on {urls[0]}"
        + (f" and {len(urls) - 1} more pages" if len(urls) > 1 else "")
        for (word, tag, text), urls in found.items()
    ]
    assert not problems, (
        f"{len(problems)} texts with words of the other language on {language!r} pages:\n"
        + "\n".join(problems)
    )


def test_the_known_gaps_are_still_gaps(records, settings):
    settings.WHITENOISE_USE_FINDERS = True
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    client.force_login(records)
    _opened, found = walk(client, pages_of_the_menu(records), "id")
    failing = {known_gap(url) for urls in found.values() for url in urls} - {None}
    assert set(KNOWN_GAPS.values()) - failing == set(), "mended: remove it from KNOWN_GAPS"


# --- The checker itself ------------------------------------------------------


def test_the_checker_sees_text_and_labels_but_not_scripts():
    html = (
        '<html lang="id"><head><title>Simpan Save</title><style>.Save{}</style></head>'
        '<body><script>var Save = 1;</script><button aria-label="Delete">x</button>'
        '<input type="submit" value="Go"><input name="q" placeholder="Search">'
        '<p>Tahap: negotiation</p><p>Pilih <b>None</b></p>'
        '<button lang="en">English</button><p>5 Desember 2026, Halo {nama}</p>'
        '<template><p>Hide</p></template></body></html>'
    )
    words = [word for word, _tag, _text in foreign_words(html, "id")]
    assert words == ["Save", "Delete", "Go", "Search", "negotiation", "None"]


def test_the_indonesian_nomor_is_not_english():
    assert foreign_words("<p>No HP</p><p>No. 5</p>", "id") == []
    assert [w for w, _t, _x in foreign_words("<p>Yes / No</p>", "id")] == ["Yes", "No"]


def test_an_english_page_with_indonesian_words_fails():
    words = [w for w, _t, _x in foreign_words('<a title="Hapus">Delete</a><p>5 Mei</p>', "en")]
    assert words == ["Hapus"]


def test_the_language_cookie_is_the_one_the_site_reads():
    assert settings.LANGUAGE_COOKIE_NAME
