"""Benchmark: the closing-rate dashboard and the pipeline board on MariaDB.

Run from the project root (``make bench`` runs it after the changelists)::

    .venv/bin/python bench/dashboard.py [--repeat N]

It uses the changelist benchmark's database and data (seeding them first if
needed: 1,000,000 customers, 3,000,000 opportunities over two years), then
times through Django's test client:

* the admin index (the dashboard) for each period, as the owner (a
  superuser: every deal) and as a salesperson (Sari, in the Sales role,
  who owns a third of the deals: her own);
* the pipeline board, as the owner;
* the reference, in the same run: a raw ``SELECT COUNT(*)`` of the
  opportunity table, one full pass over its smallest index.

Results: a markdown table on stdout and bench/results/dashboard.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.changelist import (  # noqa: E402 - the path above makes bench importable
    BUFFER_POOL_BYTES,
    DEFAULT_DATABASE_URL,
    RESULTS_DIR,
    count_star,
    measure,
    prepare_server,
    seed,
    setup_django,
)

MAX_QUERIES = 8
# Goals as multiples of the COUNT(*) reference.
GOALS = {
    "this_month": 0.5,
    "last_30_days": 0.5,
    "last_90_days": 0.5,
    "this_year": 4.0,
    "all_time": 4.0,
    "board": 0.5,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--buffer-pool-bytes", type=int, default=BUFFER_POOL_BYTES)
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "dashboard.json", help="JSON results file"
    )
    return parser.parse_args()


def explain_slowest(result):
    """EXPLAIN of the page's slowest crm query, to show which index it read."""
    from django.db import connection

    crm = [q for q in result["queries"] if "crm_opportunity" in q["sql"]]
    if not crm:
        return None
    slowest = max(crm, key=lambda q: q["ms"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + slowest["sql"])
        columns = [c[0] for c in cursor.description]
        plan = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return {"sql": slowest["sql"][:600], "ms": slowest["ms"], "explain": plan}


def main():
    args = parse_args()
    server = prepare_server(args.database_url, args.buffer_pool_bytes)
    setup_django(args.database_url)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from crm.dashboard import PERIODS

    started = time.monotonic()
    call_command("migrate", verbosity=0)  # builds the dashboard's rollups when new
    print(f"migrate: {time.monotonic() - started:.1f} s")
    seeded = seed(args.customers, args.opportunities, args.days, reseed=False)

    from django.contrib.auth.models import Group

    from crm.models import Opportunity
    from crm.roles import SALES

    user, _created = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    # The seed's salespeople own a third of the deals each.
    sari = get_user_model().objects.get(username="sari")
    get_user_model().objects.filter(pk=sari.pk).update(is_staff=True)
    sari.groups.add(Group.objects.get(name=SALES))
    sales_client = Client()
    sales_client.force_login(sari)
    sari_share = Opportunity.objects.filter(owner=sari).count()
    print(f"Sari owns {sari_share:,} opportunities")

    from django.db import connection

    with connection.cursor() as cursor:
        reference = count_star(cursor, args.repeat)
    print(f"Reference SELECT COUNT(*) FROM crm_opportunity ({reference['rows']:,} rows): "
          f"{reference['median_ms']} ms")

    pages = [(key, key, f"/admin/?period={key}", client) for key in PERIODS]
    pages.append(("board", "board", "/admin/crm/opportunity/board/", client))
    pages += [(f"sales {key}", key, f"/admin/?period={key}", sales_client) for key in PERIODS]
    results = []
    for name, goal_name, url, as_user in pages:
        result = measure(as_user, url, args.repeat)
        ratio = result["median_ms"] / reference["median_ms"]
        missed = []
        if ratio > GOALS[goal_name]:
            missed.append(f"ratio {ratio:.2f} > {GOALS[goal_name]}")
        if result["query_count"] > MAX_QUERIES:
            missed.append(f"{result['query_count']} queries > {MAX_QUERIES}")
        results.append({
            "page": name, "url": url, "median_ms": result["median_ms"],
            "timings_ms": result["timings_ms"], "query_count": result["query_count"],
            "sql_ms": result["sql_ms"], "ratio": round(ratio, 3), "goal": GOALS[goal_name],
            "goals_missed": missed, "queries": result["queries"],
            "slowest_query": explain_slowest(result),
        })
        print(f"  {name:<20} {result['median_ms']:>8.1f} ms  {result['query_count']} queries"
              f"  {ratio:.2f}x COUNT(*)  {'MISSED: ' + '; '.join(missed) if missed else 'ok'}",
              flush=True)

    print()
    print("| page | median ms | queries | × COUNT(*) | goal | |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| `SELECT COUNT(*)` (reference) | {reference['median_ms']} | 1 | 1.00 | | |")
    for r in results:
        status = "missed: " + "; ".join(r["goals_missed"]) if r["goals_missed"] else "ok"
        print(f"| {r['page']} | {r['median_ms']} | {r['query_count']} | {r['ratio']:.2f} "
              f"| ≤ {r['goal']} | {status} |")

    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(json.dumps({
        "server": server, "seeding": seeded, "reference": reference,
        "salesperson_opportunities": sari_share, "pages": results,
    }, indent=2, default=str))
    print(f"\nResults written to {args.output}")


if __name__ == "__main__":
    main()
