"""A sheet's header row: found among its first rows, its headers reduced to
comparable words (header_key), and the words that name a phone number or a
totals row, in Indonesian and English."""

import re

# The header row is looked for in the first rows: shops put a title, a
# date or blank rows above it.
HEADER_SEARCH_ROWS = 20


def header_key(text):
    """A header reduced to lower-case words: ' No. HP / WA ' -> 'no hp wa'."""
    return " ".join(re.findall(r"[^\W_]+", str(text or "").lower()))


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


# Words of a header that name a phone number, by how likely the column is to
# hold the customer's WhatsApp (lower first): WA, then a mobile, then a
# telephone (often the shop's landline).
PHONE_WORDS = {
    "wa": 0, "whatsapp": 0, "watsap": 0,
    "hp": 1, "handphone": 1, "ponsel": 1, "mobile": 1, "seluler": 1, "cell": 1,
    "telp": 2, "tlp": 2, "telepon": 2, "telpon": 2, "phone": 2, "kontak": 2, "contact": 2,
}
# Headers with one of these words name something else ("Nama Kontak").
NOT_PHONE_WORDS = {"nama", "name", "email", "alamat", "address", "jenis", "type", "label"}
# A totals row's label, by header_key().
TOTALS_WORDS = {"total", "jumlah", "grand total", "sub total", "subtotal", "total keseluruhan",
                "jumlah total", "totals"}


def phone_rank(key):
    """How likely a header (by header_key) names the WhatsApp number, lower
    first; None if it does not name a phone."""
    words = key.split()
    if not words or NOT_PHONE_WORDS.intersection(words):
        return None
    ranks = [PHONE_WORDS[word] for word in words if word in PHONE_WORDS]
    return min(ranks) if ranks else None
