"""Benchmark: our admin changelists against Django's stock admin on MariaDB.

Run from the project root (``make bench`` does it)::

    .venv/bin/python bench/changelist.py [--customers N] [--opportunities N] ...

It creates the database if missing, raises InnoDB's buffer pool, migrates,
seeds 1,000,000 customers and 3,000,000 opportunities (once: reruns reuse
them), then times each changelist page through Django's test client on our
admin (/admin/) and on a stock ModelAdmin of the same models (/plain/, see
bench/plain_admin.py). Results: a markdown table on stdout and
bench/results/changelist.json. See bench/README.md.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/crm_bench"
BUFFER_POOL_BYTES = 4 * 1024**3  # holds the 3,000,000-row tables and their indexes (3.2 GB)

# Goals for our pages.
RATIO_GOAL = {"customer": 0.3, "opportunity": 0.15}
MAX_QUERIES = 8
MAX_MS = 200.0
# Queries of our pages slower than this get an EXPLAIN too.
SLOW_QUERY_MS = 20.0

CRM_TABLES = ["crm_customer", "crm_opportunity", "crm_stagechange"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"MySQL/MariaDB database to use (created if missing). Default: {DEFAULT_DATABASE_URL}."
        " The environment's DATABASE_URL is deliberately ignored: the bench writes millions"
        " of rows.",
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=3_000_000)
    parser.add_argument(
        "--days",
        type=int,
        default=730,
        help="spread the opportunities over this many past days (the dashboard bench wants two"
        " years)",
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per page, ours")
    parser.add_argument(
        "--plain-repeat", type=int, default=3, help="timed requests per page, stock admin"
    )
    parser.add_argument(
        "--skip-plain", action="store_true", help="time only our admin (no baseline, no ratios)"
    )
    parser.add_argument(
        "--reseed",
        action="store_true",
        help="empty the crm tables and seed again even if they hold enough rows",
    )
    parser.add_argument(
        "--buffer-pool-bytes",
        type=int,
        default=BUFFER_POOL_BYTES,
        help="innodb_buffer_pool_size to SET GLOBAL before seeding (0: leave it)",
    )
    parser.add_argument(
        "--pages",
        default="",
        help="time only the pages whose name matches this regular expression,"
        " e.g. 'customer' or 'search'",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "changelist.json", help="JSON results file"
    )
    return parser.parse_args()


# --- Results ----------------------------------------------------------------


def run_facts(server, **extra):
    """When and where a benchmark ran: the head of every results file."""
    import django

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "django": django.get_version(),
            **extra,
            **server,
        },
    }


def write_results(path, output):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(output, indent=2, default=str))
    print(f"Results written to {path}")


# --- Server and database -----------------------------------------------------


def server_connection(url):
    """A MySQLdb connection to the server of ``url`` (no database selected)."""
    import environ
    import MySQLdb

    config = environ.Env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.mysql":
        sys.exit(f"The bench needs MySQL/MariaDB; got {config['ENGINE']} from {url}")
    kwargs = {"user": config["USER"] or "root", "charset": "utf8mb4"}
    if config.get("PASSWORD"):
        kwargs["password"] = config["PASSWORD"]
    host = config.get("HOST") or "127.0.0.1"
    if host.startswith("/"):
        kwargs["unix_socket"] = host
    else:
        kwargs["host"] = host
        kwargs["port"] = int(config.get("PORT") or 3306)
    return MySQLdb.connect(**kwargs), config["NAME"]


def count_star(cursor, repeat):
    """The benches' reference, this VM's speed of the day: the median ms of
    a raw COUNT(*) of the opportunity table on ``cursor`` (a warm-up first)."""
    timings = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        cursor.execute("SELECT COUNT(*) FROM crm_opportunity")
        rows = cursor.fetchone()[0]
        if attempt:
            timings.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(timings), 1), "rows": rows,
            "timings_ms": [round(t, 1) for t in timings]}


def prepare_server(url, buffer_pool_bytes):
    """Create the database if missing, raise the buffer pool; return server facts."""
    connection, name = server_connection(url)
    cursor = connection.cursor()
    cursor.execute(
        f"CREATE DATABASE IF NOT EXISTS `{name}` "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    cursor.execute("SELECT VERSION()")
    version = cursor.fetchone()[0]
    if buffer_pool_bytes:
        # The resize runs in the background; wait (up to 2 minutes) for it to finish.
        deadline = time.monotonic() + 120
        try:
            cursor.execute(f"SET GLOBAL innodb_buffer_pool_size = {int(buffer_pool_bytes)}")
        except Exception as error:  # noqa: BLE001 - report and carry on
            print(f"WARNING: could not SET GLOBAL innodb_buffer_pool_size: {error}")
            deadline = 0
        while time.monotonic() < deadline:
            cursor.execute("SELECT @@GLOBAL.innodb_buffer_pool_size")
            if cursor.fetchone()[0] >= buffer_pool_bytes:
                break
            time.sleep(0.5)
        while time.monotonic() < deadline:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'")
            row = cursor.fetchone()
            if not row or not row[1] or "complete" in row[1].lower() or "resized" in row[1].lower():
                break
            time.sleep(0.5)
    cursor.execute("SELECT @@GLOBAL.innodb_buffer_pool_size")
    pool = cursor.fetchone()[0]
    connection.close()
    print(f"Server: MariaDB/MySQL {version}; database `{name}`")
    print(f"innodb_buffer_pool_size in effect: {pool} bytes ({pool / 1024**3:.2f} GiB)")
    if buffer_pool_bytes and pool < buffer_pool_bytes:
        print(f"WARNING: buffer pool is below the {buffer_pool_bytes} bytes asked for")
    return {"server_version": version, "database": name, "innodb_buffer_pool_size": pool}


def setup_django(url):
    # Run as a script, sys.path starts with bench/; the project root is needed instead.
    others = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    sys.path[:] = [str(PROJECT_ROOT), *others]
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()


# --- Data ----------------------------------------------------------------------


def table_rows():
    from crm.models import Customer, Opportunity

    return Customer.objects.count(), Opportunity.objects.count()


def seed(customers, opportunities, days, reseed):
    """Seed the tables unless they already hold enough rows; return seeding facts."""
    from django.core.management import call_command
    from django.db import connection

    # The last seeding of each database, so a rerun can still say how long it took.
    seed_file = RESULTS_DIR / "seed.json"
    database = connection.settings_dict["NAME"]
    seedings = json.loads(seed_file.read_text()) if seed_file.exists() else {}
    if "seconds" in seedings:  # the old single-database format
        seedings = {}
    have_customers, have_opportunities = table_rows()
    print(f"Tables hold {have_customers:,} customers and {have_opportunities:,} opportunities")
    if not reseed and have_customers >= customers and have_opportunities >= opportunities:
        previous = seedings.get(database)
        note = ""
        if previous:
            note = (
                f"; the last seeding ({previous['customers']:,}/{previous['opportunities']:,})"
                f" took {previous['seconds']:.0f} s on {previous['date']}"
            )
        print(f"Seeding skipped: enough rows already{note}")
        seeded = {"skipped": True, "previous": previous}
    else:
        if have_customers or have_opportunities:
            print("Emptying the crm tables to seed from scratch")
            with connection.cursor() as cursor:
                cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
                for table in CRM_TABLES:
                    cursor.execute(f"TRUNCATE TABLE `{table}`")
                cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        print(f"Seeding {customers:,} customers, {opportunities:,} opportunities ...", flush=True)
        started = time.monotonic()
        call_command("seed", customers=customers, opportunities=opportunities, days=days)
        seconds = time.monotonic() - started
        print(f"Seeding took {seconds:.0f} s ({seconds / 60:.1f} min)")
        seeded = {
            "skipped": False,
            "customers": customers,
            "opportunities": opportunities,
            "days": days,
            "seconds": round(seconds, 1),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        RESULTS_DIR.mkdir(exist_ok=True)
        seed_file.write_text(json.dumps({**seedings, database: seeded}, indent=2))
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE TABLE {', '.join(f'`{t}`' for t in CRM_TABLES)}")
        cursor.fetchall()
    print(f"ANALYZE TABLE {', '.join(CRM_TABLES)}: {time.monotonic() - started:.1f} s")
    seeded["rows"] = dict(zip(["customers", "opportunities"], table_rows(), strict=True))
    return seeded


def table_sizes():
    """Rows, data and index MiB of the crm tables (InnoDB's estimates)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, table_rows, data_length, index_length"
            " FROM information_schema.tables"
            " WHERE table_schema = DATABASE() AND table_name IN ('crm_customer', 'crm_opportunity')"
        )
        sizes = {
            name: {
                "rows_estimate": rows,
                "data_mib": round(data / 1024**2),
                "index_mib": round(index / 1024**2),
            }
            for name, rows, data, index in cursor.fetchall()
        }
    for name, size in sorted(sizes.items()):
        print(
            f"{name}: ~{size['rows_estimate']:,} rows, {size['data_mib']} MiB data,"
            f" {size['index_mib']} MiB indexes"
        )
    return sizes


def search_terms():
    """Search terms that find rows of the seeded data, typed the way people type them."""
    from crm.demo_data import FIRST_NAMES
    from crm.models import Customer

    customer = (
        Customer.objects.filter(phone__isnull=False, name__contains=" ").order_by("pk").first()
    )
    # 6281200000000 -> local 081200000000.
    local = "0" + customer.phone[2:]
    terms = {
        # The start of a number: "0812 0000" (about 1% of the customers at 1M).
        "phone": f"{local[:4]} {local[4:8]}",
        # A whole number, with the dashes people put in: "0812-0000-0000".
        "full_phone": f"{local[:4]}-{local[4:8]}-{local[8:]}",
        # A common first name (1 customer in 40).
        "name": "Siti",
        # A first and last name (about 1 customer in 900).
        "full_name": customer.name,
    }
    assert terms["name"] in FIRST_NAMES
    return terms


# --- Measuring -----------------------------------------------------------------


def query_string(**params):
    return "?" + urlencode(params) if params else ""


def define_pages(terms):
    from django.contrib.auth import get_user_model

    sales = get_user_model().objects.filter(username="sari").values_list("pk", flat=True).first()
    pages = [
        ("customer", "first page", {}),
        ("customer", "phone search", {"q": terms["phone"]}),
        ("customer", "name search", {"q": terms["name"]}),
        ("customer", "source filter (bonus)", {"source__exact": "instagram"}),
        ("customer", "city filter (bonus)", {"city": "Kediri"}),
        ("customer", "full number search (bonus)", {"q": terms["full_phone"]}),
        ("customer", "full name search (bonus)", {"q": terms["full_name"]}),
        ("opportunity", "first page", {}),
        ("opportunity", "stage filter", {"stage__exact": "won"}),
        ("opportunity", "status filter", {"status__exact": "open"}),
        ("opportunity", "phone search", {"q": terms["phone"]}),
        ("opportunity", "name search", {"q": terms["name"]}),
        ("opportunity", "owner filter (bonus)", {"owner__id__exact": sales}),
        ("opportunity", "full number search (bonus)", {"q": terms["full_phone"]}),
        ("opportunity", "full name search (bonus)", {"q": terms["full_name"]}),
    ]
    return [page for page in pages if all(v is not None for v in page[2].values())]


class ResultRecorder:
    """Records what a changelist found, during one (untimed) request only."""

    def __init__(self):
        self.found = None

    def __enter__(self):
        from django.contrib.admin.views.main import ChangeList

        self.original = ChangeList.get_results
        recorder = self

        def get_results(changelist, request):
            recorder.original(changelist, request)
            recorder.changelist = changelist

        self.changelist = None
        ChangeList.get_results = get_results
        return self

    def __exit__(self, *exc):
        from django.contrib.admin.views.main import ChangeList

        ChangeList.get_results = self.original
        # Read after the request: a subclass's get_results (crm.largelists.changelist)
        # may still change the page after Django's, which ran above.
        changelist = self.changelist
        if changelist is not None:
            self.found = {
                "result_count": changelist.result_count,
                "count_is_exact": getattr(changelist.paginator, "count_is_exact", True),
                "full_result_count": changelist.full_result_count,
                "rows_on_page": len(changelist.result_list),
            }


def measure(client, url, repeat):
    """A warm-up request, ``repeat`` timed ones, then one more with its queries captured."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    get()
    warmup_ms = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        get()
        timings.append((time.perf_counter() - started) * 1000)
    # Separate from the timed requests: capturing adds work of its own.
    with CaptureQueriesContext(connection) as captured, ResultRecorder() as recorder:
        get()
    # Read now: the next request empties the connection's query log.
    queries = [
        {"sql": q["sql"], "ms": round(float(q["time"]) * 1000, 1)}
        for q in captured.captured_queries
    ]
    return {
        "url": url,
        "median_ms": round(statistics.median(timings), 1) if timings else None,
        "min_ms": round(min(timings), 1) if timings else None,
        "max_ms": round(max(timings), 1) if timings else None,
        "timings_ms": [round(t, 1) for t in timings],
        "warmup_ms": round(warmup_ms, 1),
        "query_count": len(queries),
        "queries": queries,
        "sql_ms": round(sum(q["ms"] for q in queries), 1),
        # Other work on the machine skews the timings; the bench itself adds about 1.
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        **(recorder.found or {}),
    }


def page_query(queries, table):
    """The changelist's page query: the SELECT of ``table``'s rows.

    It has a LIMIT when the list has more than one page; a one-page list
    loads all its rows without one.
    """
    pattern = re.compile(rf"^SELECT `{table}`\.")
    candidates = [query for query in queries if pattern.match(query["sql"])]
    limited = [query for query in candidates if " LIMIT " in query["sql"]]
    return (limited or candidates or [None])[0]


def explain(sql, analyze=False):
    """EXPLAIN (or ANALYZE, which runs the query) rows as dicts."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(("ANALYZE " if analyze else "EXPLAIN ") + sql)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


EXPLAIN_COLUMNS = ["id", "select_type", "table", "type", "key", "key_len", "rows", "Extra"]
ANALYZE_COLUMNS = [*EXPLAIN_COLUMNS[:-1], "r_rows", "filtered", "r_filtered", "Extra"]


def format_plan(rows, columns):
    def cell(value):
        return "" if value is None else str(value)

    widths = [max(len(c), *(len(cell(r.get(c))) for r in rows)) for c in columns]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    for row in rows:
        cells = [cell(row.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True)]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


def shorten(sql, limit=400):
    sql = re.sub(r"SELECT `(\w+)`\.`id`, .*? FROM", r"SELECT `\1`.`id`, ... FROM", sql, count=1)
    return sql if len(sql) <= limit else sql[: limit - 3] + "..."


def count_label(found):
    if not found or "result_count" not in found:
        return "?"
    count = f"{found['result_count']:,}"
    return count if found.get("count_is_exact", True) else f">{count}"


# --- Main ----------------------------------------------------------------------------


def main():
    args = parse_args()
    started_all = time.monotonic()
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
        " (other work on the machine skews the timings)"
    )
    server = prepare_server(args.database_url, args.buffer_pool_bytes)
    setup_django(args.database_url)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrate: {time.monotonic() - started:.1f} s")
    seeded = seed(args.customers, args.opportunities, args.days, args.reseed)

    User = get_user_model()
    admin_user, _ = User.objects.update_or_create(
        username="bench-admin",
        defaults={"is_staff": True, "is_superuser": True, "is_active": True},
    )
    client = Client()
    client.force_login(admin_user)

    terms = search_terms()
    print("Search terms: " + ", ".join(f"{key} {value!r}" for key, value in terms.items()))
    pages = [
        page
        for page in define_pages(terms)
        if re.search(args.pages, f"{page[0]} {page[1]}")
    ]
    sizes = table_sizes()
    sites = ["ours"] if args.skip_plain else ["ours", "plain"]
    namespaces = {"ours": "admin", "plain": "plain"}
    repeats = {"ours": args.repeat, "plain": args.plain_repeat}

    results = []
    for model, label, params in pages:
        result = {"model": model, "page": label, "params": params}
        for site in sites:
            url = reverse(f"{namespaces[site]}:crm_{model}_changelist") + query_string(**params)
            print(f"  {site:5} {url} ...", end="", flush=True)
            try:
                measured = measure(client, url, repeats[site])
            except Exception as error:  # noqa: BLE001 - one broken page must not stop the run
                print(f" ERROR {error!r}")
                result[site] = {"url": url, "error": repr(error)}
                continue
            table = f"crm_{model}"
            query = page_query(measured["queries"], table)
            measured["page_query"] = query["sql"] if query else None
            if query and (site == "ours" or model == "opportunity"):
                measured["explain"] = explain(query["sql"])
            if site == "ours":
                if query:
                    measured["analyze"] = explain(query["sql"], analyze=True)
                measured["slow_queries"] = [
                    {**q, "explain": explain(q["sql"]), "analyze": explain(q["sql"], analyze=True)}
                    for q in measured["queries"]
                    if q["ms"] >= SLOW_QUERY_MS and q is not query and q["sql"].startswith("SELECT")
                ]
            result[site] = measured
            print(
                f" median {measured['median_ms']} ms, {measured['query_count']} queries,"
                f" {count_label(measured)} rows"
            )
        results.append(result)

    # Ratios and goals.
    missed = []
    for result in results:
        ours, plain = result.get("ours", {}), result.get("plain", {})
        goals = []
        ratio = None
        if ours.get("median_ms") is not None and plain.get("median_ms"):
            ratio = ours["median_ms"] / plain["median_ms"]
        result["ratio"] = round(ratio, 4) if ratio is not None else None
        result["ratio_goal"] = RATIO_GOAL[result["model"]]
        if "error" in ours or ours.get("median_ms") is None:
            goals.append("page failed")
        else:
            if ratio is not None and ratio > result["ratio_goal"]:
                goals.append(f"ratio {ratio:.3f} > {result['ratio_goal']}")
            if ours["query_count"] > MAX_QUERIES:
                goals.append(f"{ours['query_count']} queries > {MAX_QUERIES}")
            if ours["median_ms"] >= MAX_MS:
                goals.append(f"{ours['median_ms']:.0f} ms >= {MAX_MS:.0f} ms")
        result["goals_missed"] = goals
        if goals:
            missed.append(f"{result['model']} {result['page']}: {'; '.join(goals)}")

    # EXPLAIN of our page queries.
    print("\n## Query plans of our page queries\n")
    for result in results:
        ours = result.get("ours", {})
        if not ours.get("explain"):
            continue
        print(f"### {result['model']} {result['page']}: {ours['url']}")
        print(f"  SQL: {shorten(ours['page_query'])}")
        print("EXPLAIN:")
        print(format_plan(ours["explain"], EXPLAIN_COLUMNS))
        if ours.get("analyze"):
            print("ANALYZE (the same, run: r_rows = rows actually read):")
            print(format_plan(ours["analyze"], ANALYZE_COLUMNS))
        for slow in ours.get("slow_queries", []):
            print(f"  Another query took {slow['ms']} ms: {shorten(slow['sql'])}")
            print(format_plan(slow["explain"], EXPLAIN_COLUMNS))
            print("  ANALYZE:")
            print(format_plan(slow["analyze"], ANALYZE_COLUMNS))
        plain = result.get("plain", {})
        if result["model"] == "opportunity" and plain.get("explain"):
            print("Stock admin's page query, for comparison:")
            print(f"  SQL: {shorten(plain['page_query'])}")
            print(format_plan(plain["explain"], EXPLAIN_COLUMNS))
        print()

    # The table.
    rows = seeded["rows"]
    print(
        f"\n## Changelists, {rows['customers']:,} customers / {rows['opportunities']:,}"
        f" opportunities (median of {args.repeat} ours / {args.plain_repeat} plain)\n"
    )
    header = (
        "| page | ours ms | plain ms | ours/plain | goal | queries ours | queries plain"
        " | SQL ms ours | SQL ms plain | rows found ours | rows found plain | goals met |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in results:
        ours, plain = result.get("ours", {}), result.get("plain", {})
        ratio = f"{result['ratio']:.3f}" if result["ratio"] is not None else "-"
        met = "yes" if not result["goals_missed"] else "NO: " + "; ".join(result["goals_missed"])
        print(
            f"| {result['model']} {result['page']} `{query_string(**result['params']) or '/'}`"
            f" | {ours.get('median_ms', 'error')} | {plain.get('median_ms', '-')}"
            f" | {ratio} | <= {result['ratio_goal']}"
            f" | {ours.get('query_count', '-')} | {plain.get('query_count', '-')}"
            f" | {ours.get('sql_ms', '-')} | {plain.get('sql_ms', '-')}"
            f" | {count_label(ours)} | {count_label(plain)}"
            f" | {met} |"
        )
    print(
        "\nms: median wall time of a request through the test client. SQL ms: the sum of"
        " the\ndatabase times of one more (untimed) request. Rows found: the list's count"
        " ('>10,000' = capped)."
    )
    print(
        f"\nGoals for our pages: ours/plain <= {RATIO_GOAL['customer']} (customers),"
        f" <= {RATIO_GOAL['opportunity']} (opportunities); <= {MAX_QUERIES} queries;"
        f" < {MAX_MS:.0f} ms."
    )
    if missed:
        print("\nGOALS MISSED:")
        for line in missed:
            print(f"  - {line}")
    else:
        print("\nAll goals met.")
    total = time.monotonic() - started_all
    print(f"\nWhole bench: {total / 60:.1f} min")

    output = {
        **run_facts(server),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "search_terms": terms,
        "table_sizes": sizes,
        "seeding": seeded,
        "goals": {"ratio": RATIO_GOAL, "max_queries": MAX_QUERIES, "max_ms": MAX_MS},
        "pages": results,
        "goals_missed": missed,
        "total_seconds": round(total, 1),
    }
    write_results(args.output, output)


if __name__ == "__main__":
    main()
