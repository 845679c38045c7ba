"""Benchmark: importing a 100,000-row customer CSV, against a plain ModelResource.

Run from the project root (``make bench`` runs it)::

    .venv/bin/python bench/import.py [--rows N] [--baseline-rows N]

For each database (SQLite in a temporary file, then MariaDB), in a fresh
child process each so peak memory is the import's own:

* ours: CustomerResource, the admin's code path: the file read by our CSV
  format, a dry run (the preview), then the confirmed import;
* the baseline: a plain ``ModelResource`` of Customer with default options,
  importing the first rows of the same data (dry run, then confirmed).

Ours confirms as the admin does for a file this size: an ImportJob run as
the worker runs it (crm.import_jobs.run), then undoes it the same way,
while a thread requests the progress page's JSON every half second through
the web stack and times each request (the page a user watches meanwhile).

The file has realistic Indonesian names and phones typed in mixed formats,
10% of them repeating a number from earlier in the file. Reports rows per
second (both phases together), the ratio ours/baseline, peak RSS, the
undo's time against the confirmed import's, and the slowest progress request.
Results: bench/results/import.json.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
MARIADB_URL = "mysql://root@127.0.0.1:3306/crm_bench_import"


def make_csv(rows, seed=2026):
    """CSV text: Indonesian headers, mixed phone formats, 10% repeated numbers."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()  # crm.demo_data imports the models; nothing connects here
    from crm.demo_data import CITIES, FIRST_NAMES, LAST_NAMES, demo_phone

    rng = random.Random(seed)
    formats = [
        lambda d: "0" + d[2:5] + "-" + d[5:9] + "-" + d[9:],  # 0812-3456-7890
        lambda d: "+62 " + d[2:5] + " " + d[5:9] + " " + d[9:],  # +62 812 3456 7890
        lambda d: d[:5] + " " + d[5:9] + " " + d[9:],  # 62812 3456 7890
        lambda d: "0" + d[2:],  # 081234567890
    ]
    lines = ["Nama;No HP;Kota;Email"]
    issued = []
    for i in range(rows):
        if issued and rng.random() < 0.10:
            digits = rng.choice(issued)  # the same customer again, maybe typed otherwise
        else:
            digits = demo_phone(i)
            issued.append(digits)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}".strip()
        email = f"Pelanggan.{i}@Contoh.ID" if rng.random() < 0.3 else ""
        lines.append(f"{name};{rng.choice(formats)(digits)};{rng.choice(CITIES)};{email}")
    return "\n".join(lines) + "\n"


def run_child(database_url, which, csv_path, rows):
    """Run one import in a fresh process; return its measurements."""
    command = [sys.executable, __file__, "--child", which, "--database-url", database_url,
               "--csv", str(csv_path), "--rows", str(rows)]
    output = subprocess.run(command, capture_output=True, text=True, check=False,
                            cwd=PROJECT_ROOT)
    if output.returncode != 0:
        raise RuntimeError(output.stderr[-3000:])
    return json.loads(output.stdout.strip().splitlines()[-1])


def child(args):
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = args.database_url
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from import_export import resources

    from crm.models import Customer, ImportChange, ImportRecord
    from crm.resources import CustomerResource
    from crm.spreadsheets import SpreadsheetCSV

    call_command("migrate", verbosity=0)
    ImportChange.objects.all().delete()
    ImportRecord.objects.all().delete()
    Customer.objects.all().delete()

    data = Path(args.csv).read_bytes()
    if args.child == "ours":
        dataset = SpreadsheetCSV().create_dataset(data)
        make_resource = CustomerResource
    else:
        class PlainCustomerResource(resources.ModelResource):
            class Meta:
                model = Customer
                fields = ["id", "name", "phone", "city", "email"]

        text = data.decode()
        lines = text.splitlines()[: args.rows + 1]
        # The plain resource wants the model's field names, and an (empty) id
        # column: its default import_id_fields.
        lines = ["id;name;phone;city;email"] + [";" + line for line in lines[1:]]
        dataset = SpreadsheetCSV().create_dataset("\n".join(lines).encode())
        make_resource = PlainCustomerResource
    rows = len(dataset)

    started = time.perf_counter()
    preview = make_resource().import_data(dataset, dry_run=True, raise_errors=False)
    preview_seconds = time.perf_counter() - started
    undo = {}
    if args.child == "ours":
        result, confirm_seconds, undo = import_and_undo_as_jobs(data, rows)
    else:
        started = time.perf_counter()
        result = make_resource().import_data(
            dataset, dry_run=False, raise_errors=False, file_name="bench.csv"
        )
        confirm_seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "which": args.child,
        "database": connection.vendor,
        "rows": rows,
        "totals": dict(result.totals),
        "preview_totals": dict(preview.totals),
        "preview_seconds": round(preview_seconds, 2),
        "confirm_seconds": round(confirm_seconds, 2),
        "rows_per_second": round(2 * rows / (preview_seconds + confirm_seconds), 1),
        **undo,
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }))


def import_and_undo_as_jobs(data, rows):
    """The confirmed import and its undo as background jobs, with the
    progress page requested meanwhile; returns (totals, seconds, undo figures)."""
    import threading

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from crm import import_jobs
    from crm.models import Customer, ImportJob
    from crm.spreadsheets import SharedUploadStorage

    owner = get_user_model().objects.filter(username="bench-owner").first()
    owner = owner or get_user_model().objects.create_superuser("bench-owner", password="x")
    ImportJob.objects.all().delete()

    def watched(job):
        """Run ``job`` as the worker would while a 'browser' polls its page."""
        url = reverse("admin:crm_importrecord_job_progress", args=[job.pk])
        timings, stop = [], threading.Event()

        def poll():
            client = Client()
            client.force_login(owner)
            while not stop.is_set():
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started, response.json()["rows_done"]))
                stop.wait(0.5)
            connection.close()  # this thread's own

        poller = threading.Thread(target=poll)
        poller.start()
        started = time.perf_counter()
        import_jobs.run(job.pk)
        seconds = time.perf_counter() - started
        stop.set()
        poller.join()
        job.refresh_from_db()
        assert job.status == "done", job.error
        return job, seconds, timings

    storage = SharedUploadStorage()
    storage.save(data)
    job = ImportJob.objects.create(
        kind="import", model_name="crm.customer", created_by=owner, file_name="bench.csv",
        upload_name=storage.name, rows_total=rows, options={
            "resource": "crm.resources.CustomerResource",
            "format": "crm.spreadsheets.SpreadsheetCSV", "encoding": "utf-8-sig",
        },
    )
    job, confirm_seconds, import_polls = watched(job)
    record = job.import_record
    totals = {"new": record.created_count, "update": record.updated_count,
              "skip": record.skipped_count}
    customers_after = Customer.objects.count()

    undo_job = ImportJob.objects.create(
        kind="undo", model_name="crm.customer", created_by=owner, file_name="bench.csv",
        import_record=record, rows_total=record.changes.count(),
    )
    history_before = Customer.history.filter(history_type="-").count()
    _job, undo_seconds, undo_polls = watched(undo_job)
    polls = import_polls + undo_polls
    return type("Totals", (), {"totals": totals})(), confirm_seconds, {
        "customers_after": customers_after,
        "undo_seconds": round(undo_seconds, 2),
        "undo_rows": undo_job.rows_total,
        "undo_over_confirm": round(undo_seconds / confirm_seconds, 2),
        "customers_after_undo": Customer.objects.count(),
        # One per customer the import created, written by the undo in bulk.
        "deleted_history_rows": (
            Customer.history.filter(history_type="-").count() - history_before
        ),
        "progress_requests": len(polls),
        "slowest_progress_request_seconds": round(max(t for t, _rows in polls), 3),
        # Rows done seen while the import's transaction was open: proof the
        # page moved, not jumped from 0 to done.
        "progress_seen_mid_import": sorted({r for _t, r in import_polls if 0 < r < rows})[:5],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--databases", default="sqlite,mariadb")
    parser.add_argument("--child", choices=["ours", "plain"])
    parser.add_argument("--database-url")
    parser.add_argument("--csv")
    args = parser.parse_args()
    if args.child:
        return child(args)

    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "pelanggan.csv"
        csv_path.write_text(make_csv(args.rows), encoding="utf-8")
        urls = {"sqlite": f"sqlite:///{folder}/import-bench.sqlite3", "mariadb": MARIADB_URL}
        if "mariadb" in args.databases:
            from bench.changelist import prepare_server

            prepare_server(MARIADB_URL, 0)
        results = []
        for name in args.databases.split(","):
            ours = run_child(urls[name], "ours", csv_path, args.rows)
            plain = run_child(urls[name], "plain", csv_path, args.baseline_rows)
            ratio = ours["rows_per_second"] / plain["rows_per_second"]
            results.append({"database": name, "ours": ours, "plain": plain,
                            "ratio": round(ratio, 2)})
            print(f"{name}: ours {ours['rows_per_second']} rows/s "
                  f"({ours['rows']} rows, peak {ours['peak_rss_mb']} MB); plain "
                  f"{plain['rows_per_second']} rows/s ({plain['rows']} rows); "
                  f"ratio {ratio:.2f}; confirm {ours['confirm_seconds']} s, undo "
                  f"{ours['undo_seconds']} s ({ours['undo_over_confirm']}x); slowest "
                  f"progress request {ours['slowest_progress_request_seconds']} s", flush=True)
    print()
    print("| database | ours rows/s | plain rows/s | ours ÷ plain | ours peak RSS "
          "| preview s | confirm s | undo s | undo ÷ confirm | slowest progress request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        o = r["ours"]
        print(f"| {r['database']} | {o['rows_per_second']} | "
              f"{r['plain']['rows_per_second']} | {r['ratio']} | {o['peak_rss_mb']} MB | "
              f"{o['preview_seconds']} | {o['confirm_seconds']} | {o['undo_seconds']} | "
              f"{o['undo_over_confirm']} | {o['slowest_progress_request_seconds']} s |")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "import.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
