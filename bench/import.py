"""Benchmark: importing a 100,000-row customer CSV, against a plain ModelResource.

Run from the project root (``make bench`` runs it)::

    .venv/bin/python bench/import.py [--rows N] [--baseline-rows N]

For each database (SQLite in a temporary file, then MariaDB), in a fresh
child process each so peak memory is the import's own:

* ours: the admin's code path through the web stack (Django's test client,
  DEBUG off): the upload, whose request stores the file and queues the
  preview; the preview job (read by our CSV format, a dry run of
  CustomerResource) run as the worker runs it (crm.import_jobs.run); the
  import page showing the stored preview; the confirmation, which queues
  the import; the import job; then the undo action and its job;
* the baseline: a plain ``ModelResource`` of Customer with default options,
  importing the first rows of the same data (dry run, then confirmed).

While each job runs, a thread requests the progress page's JSON every
half second through the web stack. Every web request of the journey is
timed (the goal: none over 5 s).

The file has realistic Indonesian names and phones typed in mixed formats,
10% of them repeating a number from earlier in the file. Reports rows per
second (preview and import together), the ratio ours/baseline, peak RSS, the
undo's time against the confirmed import's, and the slowest web request.
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
    from crm.spreadsheets import SpreadsheetCSV

    call_command("migrate", verbosity=0)
    ImportChange.objects.all().delete()
    ImportRecord.objects.all().delete()
    Customer.objects.all().delete()

    data = Path(args.csv).read_bytes()
    if args.child == "ours":
        return print(json.dumps(through_the_admin(data)))

    class PlainCustomerResource(resources.ModelResource):
        class Meta:
            model = Customer
            fields = ["id", "name", "phone", "city", "email"]

    lines = data.decode().splitlines()[: args.rows + 1]
    # The plain resource wants the model's field names, and an (empty) id
    # column: its default import_id_fields.
    lines = ["id;name;phone;city;email"] + [";" + line for line in lines[1:]]
    dataset = SpreadsheetCSV().create_dataset("\n".join(lines).encode())
    make_resource = PlainCustomerResource
    rows = len(dataset)

    started = time.perf_counter()
    preview = make_resource().import_data(dataset, dry_run=True, raise_errors=False)
    preview_seconds = time.perf_counter() - started
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
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }))


def through_the_admin(data):
    """Upload, preview, confirm and undo ``data`` as a user does in the admin,
    the jobs run as the worker runs them; returns the figures."""
    import threading

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from crm import import_jobs
    from crm.models import Customer, ImportJob

    setup_test_environment()  # the test client's responses carry their context
    owner = get_user_model().objects.filter(username="bench-owner").first()
    owner = owner or get_user_model().objects.create_superuser("bench-owner", password="x")
    ImportJob.objects.all().delete()
    client = Client()
    client.force_login(owner)
    requests = []  # (what, seconds) of every web request

    def request(what, method, url, data=None):
        started = time.perf_counter()
        response = getattr(client, method)(url, data)
        requests.append((what, time.perf_counter() - started))
        assert response.status_code in (200, 302), (what, response.status_code)
        return response

    def watched(job):
        """Run ``job`` as the worker would while a 'browser' polls its page."""
        url = reverse("admin:crm_importrecord_job_progress", args=[job.pk])
        seen, stop = [], threading.Event()

        def poll():
            browser = Client()
            browser.force_login(owner)
            while not stop.is_set():
                started = time.perf_counter()
                response = browser.get(url)
                requests.append(("progress", time.perf_counter() - started))
                seen.append(response.json()["rows_done"])
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
        return job, seconds, seen

    import_url = reverse("admin:crm_customer_import")
    request("upload", "post", import_url, {
        "import_file": SimpleUploadedFile("bench.csv", data), "format": "", "resource": "0",
    })
    preview_job, preview_seconds, _seen = watched(ImportJob.objects.get(kind="preview"))
    rows = preview_job.rows_total
    page = request("preview page", "get", f"{import_url}?preview={preview_job.pk}")
    preview_totals = page.context["result"].totals
    form = page.context["confirm_form"]
    request("confirm", "post", reverse("admin:crm_customer_process_import"),
            {**form.initial, "confirm": "1"})
    import_job, confirm_seconds, import_seen = watched(ImportJob.objects.get(kind="import"))
    record = import_job.import_record
    customers_after = Customer.objects.count()

    history_before = Customer.history.filter(history_type="-").count()
    request("undo action", "post", reverse("admin:crm_importrecord_changelist"),
            {"action": "undo_imports", "_selected_action": [record.pk]})
    undo_job, undo_seconds, _seen = watched(ImportJob.objects.get(kind="undo"))
    slowest = max(requests, key=lambda r: r[1])
    return {
        "which": "ours",
        "database": connection.vendor,
        "rows": rows,
        "totals": {"new": record.created_count, "update": record.updated_count,
                   "skip": record.skipped_count},
        "preview_totals": preview_totals,
        "preview_seconds": round(preview_seconds, 2),
        "confirm_seconds": round(confirm_seconds, 2),
        "rows_per_second": round(2 * rows / (preview_seconds + confirm_seconds), 1),
        "customers_after": customers_after,
        "undo_seconds": round(undo_seconds, 2),
        "undo_rows": undo_job.rows_total,
        "undo_over_confirm": round(undo_seconds / confirm_seconds, 2),
        "customers_after_undo": Customer.objects.count(),
        # One per customer the import created, written by the undo in bulk.
        "deleted_history_rows": (
            Customer.history.filter(history_type="-").count() - history_before
        ),
        "web_requests": len(requests),
        "slowest_web_request": slowest[0],
        "slowest_web_request_seconds": round(slowest[1], 3),
        "other_requests_seconds": {
            what: round(seconds, 3) for what, seconds in requests if what != "progress"
        },
        # Rows done seen while the import's transaction was open: proof the
        # page moved, not jumped from 0 to done.
        "progress_seen_mid_import": sorted({r for r in import_seen if 0 < r < rows})[:5],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
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
                  f"{ours['undo_seconds']} s ({ours['undo_over_confirm']}x); slowest web "
                  f"request {ours['slowest_web_request_seconds']} s "
                  f"({ours['slowest_web_request']})", flush=True)
    print()
    print("| database | ours rows/s | plain rows/s | ours ÷ plain | ours peak RSS "
          "| preview s | confirm s | undo s | undo ÷ confirm | slowest web request |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        o = r["ours"]
        print(f"| {r['database']} | {o['rows_per_second']} | "
              f"{r['plain']['rows_per_second']} | {r['ratio']} | {o['peak_rss_mb']} MB | "
              f"{o['preview_seconds']} | {o['confirm_seconds']} | {o['undo_seconds']} | "
              f"{o['undo_over_confirm']} | {o['slowest_web_request_seconds']} s "
              f"({o['slowest_web_request']}) |")
    print()
    for r in results:
        o = r["ours"]
        goals = [
            ("import >= 5,000 rows/s", o["rows_per_second"], o["rows_per_second"] >= 5000),
            (">= 10x the plain resource", r["ratio"], r["ratio"] >= 10),
            ("undo <= 2x the import", o["undo_over_confirm"], o["undo_over_confirm"] <= 2),
            ("peak RSS <= 500 MB", o["peak_rss_mb"], o["peak_rss_mb"] <= 500),
            ("no web request over 5 s", o["slowest_web_request_seconds"],
             o["slowest_web_request_seconds"] <= 5),
        ]
        # A run that imported nothing, or whose undo left rows, met nothing.
        measured = (o["totals"]["new"] > 0 and o["customers_after_undo"] == 0
                    and o["web_requests"] > 0)
        for goal, figure, met in goals:
            verdict = "met" if met and measured else "NOT met"
            print(f"{r['database']}: {goal}: {figure} -> {verdict}")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "import.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
