"""Benchmark: importing a 100,000-row customer CSV, against a plain ModelResource.

Run from the project root (``make bench`` runs it)::

    .venv/bin/python bench/import.py [--rows N] [--baseline-rows N]

For each database (SQLite in a temporary file, then MariaDB), in a fresh
child process each so peak memory is the import's own:

* ours: CustomerResource, the admin's code path: the file read by our CSV
  format, a dry run (the preview), then the confirmed import;
* the baseline: a plain ``ModelResource`` of Customer with default options,
  importing the first rows of the same data (dry run, then confirmed).

The file has realistic Indonesian names and phones typed in mixed formats,
10% of them repeating a number from earlier in the file. Reports rows per
second (both phases together), the ratio ours/baseline and peak RSS.
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
        "customers_after": Customer.objects.count(),
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }))


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
                  f"ratio {ratio:.2f}", flush=True)
    print()
    print("| database | ours rows/s | plain rows/s | ours ÷ plain | ours peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['database']} | {r['ours']['rows_per_second']} | "
              f"{r['plain']['rows_per_second']} | {r['ratio']} | {r['ours']['peak_rss_mb']} MB |")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "import.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
