"""Realistic demo data for Blitar micro businesses, generated deterministically.

Used by the ``seed`` command (benchmarks: millions of rows with bulk inserts)
and to build ``fixtures/demo.json``.
"""

import random
from datetime import timedelta

from django.utils import timezone

from crm.models import Customer, Opportunity, Stage, StageChange, status_for_stage

FIRST_NAMES = [
    "Siti", "Sri", "Dewi", "Rina", "Wahyu", "Agus", "Budi", "Eko", "Joko", "Yuli", "Endang",
    "Slamet", "Bambang", "Tri", "Nur", "Dwi", "Rahmat", "Ahmad", "Fitri", "Lestari", "Hendra",
    "Yusuf", "Putri", "Indah", "Wulan", "Ratna", "Heru", "Teguh", "Anik", "Umi", "Sugeng",
    "Kartini", "Mbak Yayuk", "Pak Darto", "Bu Sum", "Rizky", "Ayu", "Galih", "Nanik", "Suparmi",
]
LAST_NAMES = [
    "Rahayu", "Wahyuni", "Susanto", "Setiawan", "Pratama", "Hidayat", "Santoso", "Handayani",
    "Purnomo", "Kurniawan", "Wibowo", "Utami", "Saputra", "Lestari", "Nugroho", "Prasetyo",
    "Suryani", "Hartono", "Maulana", "Firmansyah", "", "", "",
]
BUSINESS_KINDS = [
    "Kripik", "Batik", "Jahit", "Toko", "Warung", "Catering", "Konveksi", "Kue", "Sambal",
    "Madu", "Gerabah", "Tenun", "Roti", "Kopi",
]
BUSINESS_NAMES = [
    "Sumber Rejeki", "Barokah", "Mekar Sari", "Sido Mulyo", "Berkah Jaya", "Lancar", "Makmur",
    "Sekar Arum", "Penataran", "Kelud", "Bung Karno", "Mawar", "Melati", "Anugerah", "Sejahtera",
]
CITIES = [
    "Blitar", "Blitar", "Blitar", "Kanigoro", "Wlingi", "Srengat", "Kademangan", "Sutojayan",
    "Talun", "Garum", "Nglegok", "Kesamben", "Sanankulon", "Tulungagung", "Kediri", "Malang",
    "Surabaya",
]
STREETS = [
    "Jl. Merdeka", "Jl. Kenanga", "Jl. Anggrek", "Jl. Cokroaminoto", "Jl. Sudanco Supriyadi",
    "Jl. Kalimantan", "Jl. Mastrip", "Jl. Veteran", "Jl. Tanjung", "Jl. Bali",
]
# Indonesian mobile prefixes (Telkomsel, Indosat, XL, Axis, Tri, Smartfren).
MOBILE_PREFIXES = [
    "812", "813", "821", "822", "823", "852", "853", "851", "814", "815", "816", "855", "856",
    "857", "858", "817", "818", "819", "859", "877", "878", "831", "832", "838", "895", "896",
    "897", "898", "899", "881", "882", "883",
]
PRODUCTS = [
    ("Kripik tempe {n} bungkus", 8_000, 20, 500),
    ("Kripik pisang {n} kg", 45_000, 2, 50),
    ("Batik tulis motif Blitar {n} lembar", 350_000, 1, 40),
    ("Seragam batik kantor {n} pcs", 150_000, 10, 200),
    ("Jahit kebaya wisuda {n} stel", 250_000, 1, 6),
    ("Jahit seragam sekolah {n} stel", 120_000, 10, 150),
    ("Pesanan nasi kotak {n} porsi", 25_000, 20, 500),
    ("Kue lebaran {n} toples", 65_000, 5, 100),
    ("Sambal pecel {n} kg", 40_000, 5, 100),
    ("Madu hutan {n} botol", 90_000, 3, 60),
    ("Gerabah hias {n} buah", 55_000, 5, 120),
    ("Kopi bubuk Blitar {n} pack", 30_000, 10, 300),
]
LOST_REASONS = [
    "Harga terlalu mahal", "Pilih penjual lain", "Tidak ada kabar", "Anggaran belum ada",
    "Waktu pengerjaan terlalu lama", "Ongkos kirim mahal",
]
SOURCE_WEIGHTS = [
    (Customer.Source.WHATSAPP, 40), (Customer.Source.INSTAGRAM, 15),
    (Customer.Source.FACEBOOK, 10), (Customer.Source.MARKETPLACE, 12),
    (Customer.Source.REFERRAL, 13), (Customer.Source.WALK_IN, 8), (Customer.Source.OTHER, 2),
]
# Where a deal stands today: most are closed, a good share still open.
STAGE_WEIGHTS = [
    (Stage.PROSPECT, 14), (Stage.CONTACTED, 14), (Stage.PROPOSAL, 10),
    (Stage.NEGOTIATION, 8), (Stage.WON, 30), (Stage.LOST, 24),
]
OPEN_PATH = [Stage.PROSPECT, Stage.CONTACTED, Stage.PROPOSAL, Stage.NEGOTIATION]


def demo_phone(index):
    """A valid, unique Indonesian mobile number for each index (below 3.2 billion)."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    return f"62{prefix}{index // len(MOBILE_PREFIXES):08d}"


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def build_customers(rng, count, *, start_index=0, owners=(), now=None):
    """``count`` unsaved customers with distinct numbers, created over the last year."""
    now = now or timezone.now()
    for i in range(start_index, start_index + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}".strip()
        kind = rng.choice(BUSINESS_KINDS)
        has_business = rng.random() < 0.7
        city = rng.choice(CITIES)
        yield Customer(
            name=name,
            phone=demo_phone(i) if rng.random() < 0.95 else None,
            email=f"{first.lower().replace(' ', '')}.{i}@contoh.id" if rng.random() < 0.3 else "",
            business_name=f"{kind} {rng.choice(BUSINESS_NAMES)}" if has_business else "",
            address=f"{rng.choice(STREETS)} No. {rng.randint(1, 200)}",
            city=city,
            source=_weighted(rng, SOURCE_WEIGHTS),
            owner_id=rng.choice(owners) if owners else None,
            created_at=now - timedelta(days=rng.uniform(200, 400)),
        )


def build_opportunity(rng, customer_id, *, owners=(), now=None, days=365):
    """One unsaved opportunity created in the last ``days``, in a random stage.

    Returns (opportunity, path) where path is [(stage, when), ...] from
    creation to the current stage.
    """
    now = now or timezone.now()
    template, unit_price, low, high = rng.choice(PRODUCTS)
    quantity = rng.randint(low, high)
    stage = _weighted(rng, STAGE_WEIGHTS)
    created_at = now - timedelta(days=rng.uniform(0, days))
    if stage in OPEN_PATH:
        path_stages = OPEN_PATH[: OPEN_PATH.index(stage) + 1]
    else:
        path_stages = OPEN_PATH[: rng.randint(1, 4)] + [stage]
    steps = [timedelta(days=rng.uniform(0.5, 12)) for _ in path_stages[1:]]
    # A deal created lately whose path would run past today is moved back in
    # time, so recent activity is spread out rather than piled up on today.
    overshoot = created_at + sum(steps, timedelta()) - now
    if overshoot > timedelta(0):
        created_at -= overshoot + timedelta(hours=rng.uniform(1, 72))
    when, path = created_at, []
    for path_stage, step in zip(path_stages, [*steps, None], strict=True):
        path.append((path_stage, when))
        if step is not None:
            when += step
    closed_at = path[-1][1] if stage in (Stage.WON, Stage.LOST) else None
    opportunity = Opportunity(
        customer_id=customer_id,
        title=template.format(n=quantity),
        amount=unit_price * quantity,
        stage=stage,
        status=status_for_stage(stage),
        expected_close_date=(created_at + timedelta(days=rng.randint(7, 45))).date(),
        closed_at=closed_at,
        stage_changed_at=path[-1][1],
        lost_reason=rng.choice(LOST_REASONS) if stage == Stage.LOST else "",
        owner_id=rng.choice(owners) if owners else None,
        created_at=created_at,
        updated_at=path[-1][1],
    )
    return opportunity, path


def stage_changes_for(opportunity, path):
    """The StageChange rows recording ``path`` for a saved opportunity."""
    changes, previous = [], ""
    for stage, when in path:
        changes.append(
            StageChange(
                opportunity_id=opportunity.pk,
                from_stage=previous,
                to_stage=stage,
                changed_at=when,
                changed_by_id=opportunity.owner_id,
            )
        )
        previous = stage
    return changes


def make_random(seed):
    return random.Random(seed)


# WhatsApp templates the demo starts with: an offer, an order update, a
# payment reminder and a receipt (the last three use an opportunity's placeholders).
DEMO_MESSAGE_TEMPLATES = {
    "Penawaran produk": (
        "Halo {nama}! Ada kripik tempe rasa baru dari kami, cocok untuk oleh-oleh khas "
        "Blitar. Mau kami kirimi daftar harganya? Balas BERHENTI bila tidak ingin "
        "menerima pesan lagi."
    ),
    "Kabar pesanan": (
        "Halo {nama}, pesanan {judul} sedang kami kerjakan. Kami kabari lagi begitu "
        "sudah siap. Terima kasih!"
    ),
    "Pengingat pembayaran": (
        "Halo {nama}, kami ingin mengingatkan pembayaran {judul} sebesar {nilai}. "
        "Terima kasih atas kepercayaannya."
    ),
    # For the "payment recorded" notification: {pembayaran} is this payment,
    # {dibayar} all paid so far.
    "Kuitansi pembayaran": (
        "Halo {nama}, pembayaran {pembayaran} untuk {judul} sudah kami terima; total "
        "dibayar {dibayar}, sisa {sisa}. Terima kasih!"
    ),
}
