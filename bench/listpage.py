"""Benchmark: the Python time of a 100-row admin list page, before and after.

Run from the project root::

    .venv/bin/python bench/listpage.py [--compare REV] [--rounds 5 --repeat 5]
    .venv/bin/python bench/listpage.py --profile "opportunity list"

Each tree measured (this checkout, and with ``--compare REV`` that commit,
extracted by ``git archive`` into a temporary folder) runs in its own child
process on its own temporary SQLite database, seeded alike (``manage.py seed
--customers 3000 --opportunities 9000``, a fixed random seed): the data is
small, so the SQL is a few ms and the rest is Python. DEBUG is off
(bench/settings.py). Each list page is requested through Django's test
client, as the owner (a superuser) and as a salesperson (Sari, Sales role).
The trees take turns, ``--rounds`` times ``--repeat`` requests of every
page each, so a drift of the machine's speed (this VM's swings within
minutes) falls on both alike; the median of all a page's requests is
reported, with each request's SQL time (measured around every query by
``connection.execute_wrapper``) and its Python time: the request's time less
its SQL, the median over all its requests.
``--profile NAME`` prints cProfile's top functions for the matching pages
of this checkout. Results: a markdown table on stdout and
bench/results/listpage.json.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_FILE = Path(__file__).resolve()
BENCH_DIR = BENCH_FILE.parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# (name, URL, user)
PAGES = [
    ("customer list", "/admin/crm/customer/", "owner"),
    ("customer list, salesperson", "/admin/crm/customer/", "sari"),
    ("opportunity list", "/admin/crm/opportunity/", "owner"),
    ("opportunity list, salesperson", "/admin/crm/opportunity/", "sari"),
    ("opportunity filter stage=won", "/admin/crm/opportunity/?stage__exact=won", "owner"),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", default="", help="a commit to measure against (git archive)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="requests per page and round")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--opportunities", type=int, default=9000)
    parser.add_argument("--profile", default="", help="profile the pages whose name holds this")
    parser.add_argument("--profile-lines", type=int, default=45)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)  # a project root
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "listpage.json", help="JSON results file"
    )
    return parser.parse_args()


# --- Child: one tree, its own database -------------------------------------------------


def setup(project_root, database_path, customers, opportunities):
    others = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    sys.path[:] = [str(project_root), *others]
    os.chdir(project_root)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{database_path}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed", customers=customers, opportunities=opportunities, stdout=quiet)


def clients():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from crm.roles import SALES

    users = get_user_model().objects
    owner, _ = users.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    sari = users.get(username="sari")
    users.filter(pk=sari.pk).update(is_staff=True)
    sari.groups.add(Group.objects.get(name=SALES))
    found = {}
    for name, user in [("owner", owner), ("sari", sari)]:
        client = Client()
        client.force_login(user)
        found[name] = client
    return found


def get(client, url):
    response = client.get(url)
    if response.status_code != 200 or b'id="changelist"' not in response.content:
        raise RuntimeError(f"GET {url} answered {response.status_code} without the changelist")
    return response


class SqlTimer:
    """Wall time spent in the database driver during a request (execute_wrapper)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def time_requests(client, url, repeat):
    """[(request ms, of which SQL ms)] of ``repeat`` requests."""
    from django.db import connection

    timings = []
    for _ in range(repeat):
        sql = SqlTimer()
        with connection.execute_wrapper(sql):
            started = time.perf_counter()
            get(client, url)
            elapsed = time.perf_counter() - started
        timings.append((elapsed * 1000, sql.seconds * 1000))
    return timings


def page_facts(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = get(client, url)
    return {
        "queries": len(captured.captured_queries),
        "rows": response.content.count(b'class="action-select"'),
        "bytes": len(response.content),
    }


def profile(client, url, lines, repeat=10):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        get(client, url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def child(args):
    """Serve measurements over stdin/stdout: one JSON line in, one out."""
    with tempfile.TemporaryDirectory(prefix="crm-listpage-") as folder:
        setup(Path(args.child), Path(folder) / "db.sqlite3", args.customers, args.opportunities)
        users = clients()
        facts = {}
        for name, url, user in PAGES:
            get(users[user], url)  # warm-up: templates compiled, caches filled
            facts[name] = page_facts(users[user], url)
        print(json.dumps({"facts": facts}), flush=True)
        for line in sys.stdin:
            order = json.loads(line)
            name, url, user = next(page for page in PAGES if page[0] == order["page"])
            if order.get("profile"):
                reply = {"profile": profile(users[user], url, order["profile"])}
            else:
                reply = {"timings": time_requests(users[user], url, order["repeat"])}
            print(json.dumps(reply), flush=True)


# --- Parent ----------------------------------------------------------------------------------


class Tree:
    def __init__(self, label, root):
        self.label = label
        self.root = root
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH_FILE), "--child", str(root),
             "--customers", str(ARGS.customers), "--opportunities", str(ARGS.opportunities)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root,
        )
        self.facts = self.read()["facts"]
        self.timings = {name: [] for name, _, _ in PAGES}

    def read(self):
        line = self.process.stdout.readline()
        if not line:
            sys.exit(f"{self.label}: the child process ended (exit {self.process.wait()})")
        return json.loads(line)

    def ask(self, **order):
        self.process.stdin.write(json.dumps(order) + "\n")
        self.process.stdin.flush()
        return self.read()

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def extract(rev, folder):
    """The tree of commit ``rev`` in ``folder`` (git archive: no checkout touched)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.Popen(["git", "archive", commit], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(folder)], stdin=archive.stdout, check=True)
    archive.wait()
    return commit


def git_head():
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
    return head + (" + uncommitted changes" if dirty else "")


def main():
    folder = Path(tempfile.mkdtemp(prefix="crm-listpage-tree-"))
    trees = []
    try:
        started = time.monotonic()
        if ARGS.compare:
            commit = extract(ARGS.compare, folder)
            trees.append(Tree(f"before ({commit})", folder))
        trees.append(Tree(f"now ({git_head()})", PROJECT_ROOT))
        print(f"{len(trees)} tree(s) seeded ({ARGS.customers:,} customers,"
              f" {ARGS.opportunities:,} opportunities each) in {time.monotonic() - started:.0f} s;"
              f" load average {os.getloadavg()[0]:.2f}", flush=True)
        load = [os.getloadavg()[0]]
        for round_number in range(ARGS.rounds):
            for tree in trees if round_number % 2 == 0 else reversed(trees):
                for name, _, _ in PAGES:
                    tree.timings[name] += tree.ask(page=name, repeat=ARGS.repeat)["timings"]
            load.append(os.getloadavg()[0])
        if ARGS.profile:
            for name, _, _ in PAGES:
                if ARGS.profile in name:
                    print(f"\n### Profile of {name} ({trees[-1].label}), 10 requests\n")
                    print(trees[-1].ask(page=name, profile=ARGS.profile_lines)["profile"])
    finally:
        for tree in trees:
            tree.close()
        shutil.rmtree(folder, ignore_errors=True)

    results = []
    for name, url, user in PAGES:
        row = {"page": name, "url": url, "user": user}
        for tree in trees:
            timings = tree.timings[name]
            row[tree.label] = {
                "median_ms": round(statistics.median(t for t, _ in timings), 1),
                "sql_ms": round(statistics.median(s for _, s in timings), 1),
                # Each request's time less its own SQL time, the median of those.
                "python_ms": round(statistics.median(t - s for t, s in timings), 1),
                "min_python_ms": round(min(t - s for t, s in timings), 1),
                "requests": len(timings),
                **tree.facts[name],
            }
        results.append(row)

    labels = [tree.label for tree in trees]
    print(f"\nLoad average (1 min) during the rounds: {min(load):.2f}-{max(load):.2f}\n")
    header = " | ".join(f"{label}: request ms | SQL ms | Python ms (min) | queries"
                        for label in labels)
    print(f"| page | {header} |" + (" Python now ÷ before |" if len(trees) == 2 else ""))
    print("|---|" + "---:|---:|---:|---:|" * len(trees) + ("---:|" if len(trees) == 2 else ""))
    for row in results:
        cells = " | ".join(
            f"{row[label]['median_ms']} | {row[label]['sql_ms']} | {row[label]['python_ms']}"
            f" ({row[label]['min_python_ms']}) | {row[label]['queries']}" for label in labels
        )
        ratio = ""
        if len(trees) == 2:
            ratio = f" {row[labels[1]]['python_ms'] / row[labels[0]]['python_ms']:.2f} |"
        print(f"| {row['page']} | {cells} |{ratio}")
    RESULTS_DIR.mkdir(exist_ok=True)
    ARGS.output.write_text(json.dumps({
        "trees": labels, "rounds": ARGS.rounds, "repeat": ARGS.repeat,
        "customers": ARGS.customers, "opportunities": ARGS.opportunities,
        "load_average_during": load, "pages": results,
    }, indent=2))
    print(f"\nResults written to {ARGS.output}")


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.child:
        child(ARGS)
    else:
        main()
