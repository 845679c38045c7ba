"""Two processes on one SQLite file, for tests/test_sqlite.py.

    python tests/sqlite_sessions.py import ROWS MARKER   # a long import
    python tests/sqlite_sessions.py other MARKER          # reads and writes meanwhile

Each prints one JSON line of wall-clock times (time.time(), comparable
across the two processes) and any database error.
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.db import OperationalError, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.demo_data import demo_phone  # noqa: E402
from crm.models import Customer, WorkerHeartbeat  # noqa: E402
from crm.resources import CustomerResource  # noqa: E402
from crm.spreadsheets import SpreadsheetCSV  # noqa: E402


def long_import(rows, marker):
    lines = ["Nama,No HP,Kota"] + [
        f"Pelanggan {n},{demo_phone(100_000 + n)},Blitar" for n in range(rows)
    ]
    dataset = SpreadsheetCSV().create_dataset("\n".join(lines).encode())
    started = time.time()
    with transaction.atomic():
        Customer.objects.create(name="Pertama", phone=demo_phone(99_999))
        Path(marker).touch()  # the write lock is held from here to the commit
        result = CustomerResource().import_data(dataset, dry_run=False, raise_errors=True)
    return {"started": started, "committed": time.time(),
            "created": result.totals["new"]}


def reads_and_writes(marker):
    while not Path(marker).exists():
        time.sleep(0.01)
    times = {"began": time.time()}
    try:
        times["customers_seen"] = Customer.objects.count()
        list(Customer.objects.order_by("-pk")[:100])
        times["read"] = time.time()
        # What the worker's heartbeat and a saved form do.
        WorkerHeartbeat.objects.update_or_create(
            worker_id="other", defaults={"host": "test", "pid": os.getpid(),
                                         "started_at": timezone.now(),
                                         "beat_at": timezone.now()})
        Customer.objects.create(name="Ditambah saat impor", phone=demo_phone(99_998))
        times["written"] = time.time()
    except OperationalError as error:
        times["error"] = str(error)
    return times


if __name__ == "__main__":
    if sys.argv[1] == "import":
        print(json.dumps(long_import(int(sys.argv[2]), sys.argv[3])))
    else:
        print(json.dumps(reads_and_writes(sys.argv[2])))
