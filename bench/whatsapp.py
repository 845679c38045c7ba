"""Benchmark: WhatsApp bulk sending on MariaDB — queueing, draining, crash safety.

Run from the project root (``make bench`` runs it)::

    .venv/bin/python bench/whatsapp.py [--customers N] [--repeat N] [--parts queue,drain,crash]

Everything runs in its own database (crm_bench_whatsapp) against the fake
KirimWA gateway of the tests (tests/fake_kirimwa.py), started inside this
process and answering after 20 ms; the real KirimWA is never contacted. The
ban-safety limits are off (no rate, jitter, daily cap or sending hours), so
what is measured is the machinery, not the pauses it would keep.

(a) Queueing: a bulk send to every customer (20,000) through the admin
    action as a user triggers it: the test client, logged in as a superuser,
    POSTs the confirmed ``send_whatsapp`` action with ``select_across``.
    Sending tasks go to django_tasks' DummyBackend here, so only the queueing
    is timed. Baseline, in the same run: a plain ``Message.objects.bulk_create``
    of the same rows. Goal: ours ≤ 3× the baseline.
(b) Draining: N task workers (``manage.py worker``, the deployed one, or
    ``--worker-command db_worker``; N = 1, then 4) send the queued messages
    through the real KirimWA backend to the fake. Messages per second from
    the first message the fake accepted to the last, against the physical
    limit of N senders each waiting 20 ms per message (N ÷ 20 ms).
    Goal: ≥ 70% of that limit.
(c) Crash safety: 2 workers; one is SIGKILLed after ~1,000 messages and a
    new one started. The bench waits for the dead worker's claim to be
    settled (it is stale after 1 + 2 + 60 s), and starts a sending run only
    if nothing settles it. Counted at the end: phone numbers the fake got
    more than once (goal 0), messages left queued or sending (goal 0), and
    messages ended ``unknown`` (at most those in flight at the kill; never
    resent). Before that, the only worker of a smaller run is killed and a
    new one started, to see whether and when sending resumes by itself.
    Then 1,000 messages with 2 workers while the fake fails every 20th send
    in turn: a 500, a dropped connection or a 201 without an id after it
    queued the message, a dropped connection or a 500 before; one worker is
    killed mid-send. The workers settle the unknown messages by asking
    KirimWA; what has no trace is decided NOT_RECEIVED_AFTER (30 min) later,
    which the bench plays by running settle_unknown with its clock moved on
    (the constant has no setting). Goals for every run: 0 numbers sent twice,
    0 queued or sending, 0 unknown left after the settling time, 0 failed as
    not received that KirimWA got. Last, the confirmation of a bulk send to 50
    customers posted twice through the web stack (the test client, logged
    in): one after the other, at the same moment from two threads, and as
    Back does (the Preview posted again, then Send): one batch each.

Results: a markdown table on stdout and bench/results/whatsapp.json. See
bench/README.md.
"""

import argparse
import collections
import datetime
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/crm_bench_whatsapp"

TEXT = "Halo {nama}, ada kripik baru!"
LATENCY = 0.02  # seconds the fake gateway takes to answer each request
# Small timeouts, so a dead worker's claim is stale after 1 + 2 + 60 s
# (crm.whatsapp.sender.recover_stale_claims) instead of 5 + 20 + 60 s.
CONNECT_TIMEOUT = 1
READ_TIMEOUT = 2
STALE_AFTER = CONNECT_TIMEOUT + READ_TIMEOUT + 60
# A worker looks for a task this often when it has none: a task enqueued
# while it idles starts within half a second.
WORKER_INTERVAL = 0.5
DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

QUEUE_RATIO_GOAL = 3.0  # ours ÷ plain bulk_create
DRAIN_SHARE_GOAL = 0.7  # of N ÷ LATENCY messages per second

OTHER_BENCHES = (
    "bench/changelist.py", "bench/import.py", "bench/dashboard.py", "bench/load.py",
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"MySQL/MariaDB database to use (created if missing). Default: {DEFAULT_DATABASE_URL}."
        " The environment's DATABASE_URL is deliberately ignored: the bench empties tables.",
    )
    parser.add_argument("--customers", type=int, default=20_000, help="customers (a) sends to")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of (a), each side")
    parser.add_argument(
        "--parts",
        default="queue,drain,crash",
        help="comma-separated parts to run: queue (a), drain (b), crash (c)",
    )
    parser.add_argument(
        "--drain",
        default="1:5000,4:20000",
        help="(b) runs as WORKERS:MESSAGES pairs. One worker at the limit sends 50 a second, so"
        " 20,000 would take 7 minutes even at the limit: 5,000 keeps the whole bench under 10.",
    )
    parser.add_argument(
        "--worker-command",
        choices=["worker", "db_worker"],
        default="worker",
        help="the task worker to run: `worker` (the deployed one: db_worker plus a heartbeat"
        " that restarts stalled sending) or django-tasks-db's bare `db_worker`",
    )
    parser.add_argument("--crash-messages", type=int, default=5_000, help="(c) messages")
    parser.add_argument(
        "--kill-after", type=int, default=1_000, help="(c) kill a worker after this many sent"
    )
    parser.add_argument(
        "--restart-messages",
        type=int,
        default=300,
        help="(c) messages of the run whose only worker is killed (0: skip it)",
    )
    parser.add_argument(
        "--restart-watch",
        type=int,
        default=150,
        help="(c) seconds to watch whether sending resumes by itself after the only worker"
        " is killed (the heartbeat of `manage.py worker` restarts it after 90 s without a"
        " sender)",
    )
    parser.add_argument(
        "--failure-messages",
        type=int,
        default=1_000,
        help="(c) messages of the run where KirimWA accepts some and then fails (0: skip it)",
    )
    parser.add_argument(
        "--double-submit-customers",
        type=int,
        default=50,
        help="(c) customers selected in the confirmations posted twice (0: skip it)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "whatsapp.json", help="JSON results file"
    )
    args = parser.parse_args()
    args.parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    unknown = args.parts - {"queue", "drain", "crash"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    args.drain = [tuple(int(n) for n in pair.split(":")) for pair in args.drain.split(",")]
    return args


# --- The machine -----------------------------------------------------------------


def other_benches():
    """Command lines of other benchmarks running now: they would skew the timings."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if any(bench in command for bench in OTHER_BENCHES):
            found.append(command)
    return found


def machine_load():
    return {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "other_benches": other_benches(),
    }


class CpuMeter:
    """Share of all cores busy between start() and stop(), from /proc/stat."""

    @staticmethod
    def _sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    def start(self):
        self.total, self.idle = self._sample()
        return self

    def stop(self):
        total, idle = self._sample()
        busy = (total - self.total) - (idle - self.idle)
        return round(busy / max(1, total - self.total), 3)


def process_cpu_seconds(pid):
    """User + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- The fake gateway and the environment ------------------------------------------


def start_fake():
    """The tests' fake KirimWA, noting when it accepted each message, with Nagle off."""
    from tests.fake_kirimwa import FakeKirimWA, _Handler

    class NoDelayHandler(_Handler):
        # The fake writes a response's headers and body in two writes; with
        # Nagle's algorithm on, the body waits for the client's delayed ACK of
        # the headers: ~40 ms more per request (64 ms instead of 21 ms here,
        # measured with requests against latency 0.02). The bench measures the
        # sender against the gateway's 20 ms, not that artefact of the fake.
        disable_nagle_algorithm = True

    class TimedFakeKirimWA(FakeKirimWA):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.accepted_at = []  # time.monotonic() of each accepted message

        def start(self):
            super().start()
            self._server.RequestHandlerClass = NoDelayHandler  # before any request
            return self

        def _queue(self, phone_number, message):
            message_id = super()._queue(phone_number, message)
            self.accepted_at.append(time.monotonic())
            return message_id

        def reset(self):
            with self._lock:
                self.sent.clear()
                self.requests.clear()
                self.accepted_at.clear()

    fake = TimedFakeKirimWA(token="bench-token", device_id="bench-device")
    fake.latency = LATENCY
    return fake.start()


def configure_environment(fake):
    """Settings for this process and the workers it starts: project/settings.py reads
    them from the environment. Set, not defaulted: whatever the shell says, nothing
    may reach the real KirimWA, and the limits must be off. (setup_django adds
    DJANGO_SETTINGS_MODULE=bench.settings, which sets SECRET_KEY, and DATABASE_URL.)"""
    os.environ.update({
        "ENV_FILE": "",  # no developer .env (DEBUG=1 there)
        "DEBUG": "0",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "WHATSAPP_BACKEND": "crm.whatsapp.gateway.KirimWABackend",
        "KIRIMWA_API_URL": fake.url,
        "KIRIMWA_API_TOKEN": fake.token,
        "KIRIMWA_DEVICE_ID": fake.device_id,
        "KIRIMWA_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "KIRIMWA_READ_TIMEOUT": str(READ_TIMEOUT),
        "KIRIMWA_WEBHOOK_TOKEN": "",
        "WHATSAPP_RATE_PER_MINUTE": "0",
        "WHATSAPP_JITTER_SECONDS": "0",
        "WHATSAPP_DAILY_CAP": "0",
        "WHATSAPP_SENDING_HOURS": "any",
        "WHATSAPP_SENDERS": "1",
    })


def check_settings(fake):
    from django.conf import settings

    from crm.whatsapp import gateway, limits

    backend = gateway.get_backend()
    if not (isinstance(backend, gateway.KirimWABackend) and backend.api_url == fake.url):
        where = getattr(backend, "api_url", backend)
        sys.exit(f"Refusing to run: the backend would send to {where}")
    if limits.Limits.from_settings().active:
        sys.exit("Refusing to run: the ban-safety limits are on")
    if settings.DEBUG:
        sys.exit("Refusing to run: DEBUG is on")


# --- Data ----------------------------------------------------------------------------


def empty_tables(*models):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for model in models:
            cursor.execute(f"TRUNCATE TABLE `{model._meta.db_table}`")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


def empty_outbox():
    """No messages, batches, task rows or worker heartbeats (a killed worker's row
    stays, and would pass for the next worker of that name being up): each run
    starts from the same state. Only while no worker runs."""
    from django_tasks_db.models import DBTaskResult

    from crm.models import Message, MessageBatch, SendingState, WorkerHeartbeat

    empty_tables(Message, MessageBatch, SendingState, DBTaskResult, WorkerHeartbeat)


def ensure_customers(count):
    """Exactly ``count`` customers with distinct valid numbers (reused if already there)."""
    from django.apps import apps

    from crm.demo_data import FIRST_NAMES, LAST_NAMES, demo_phone
    from crm.models import Customer

    first = Customer.objects.order_by("pk").values_list("phone", flat=True).first()
    if Customer.objects.count() == count and first == demo_phone(0):
        print(f"Reusing {count:,} customers")
        return
    started = time.monotonic()
    empty_tables(*apps.get_app_config("crm").get_models())
    Customer.objects.bulk_create(
        (
            Customer(
                name=f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[i % len(LAST_NAMES)]}",
                phone=demo_phone(i),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    print(f"Created {count:,} customers in {time.monotonic() - started:.1f} s")


def customers_slice(start, stop):
    """Customers number ``start`` to ``stop`` - 1 in pk order, as a queryset."""
    from crm.models import Customer

    pks = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[start:stop])
    return Customer.objects.filter(pk__gte=pks[0], pk__lte=pks[-1])


def queue_batch(user, customers):
    """Queue one message per customer with the sender's own code, without starting
    the sending (its enqueue goes to the dummy task backend)."""
    from django.test import override_settings

    from crm.whatsapp import outbox

    with override_settings(TASKS=DUMMY_TASKS):
        return outbox.queue_messages(TEXT, by=user, customers=customers)


def status_counts(**filters):
    from django.db.models import Count

    from crm.models import Message

    rows = Message.objects.filter(**filters).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


def settled(batch):
    """Nothing of ``batch`` queued or being sent."""
    from crm.models import Message

    return not Message.objects.filter(
        batch=batch, status__in=[Message.Status.QUEUED, Message.Status.SENDING]
    ).exists()


def sent_count(batch):
    from crm.models import Message

    return Message.objects.filter(batch=batch, status=Message.Status.SENT).count()


def queued_count(batch):
    from crm.models import Message

    return Message.objects.filter(batch=batch, status=Message.Status.QUEUED).count()


# --- (a) Queueing ------------------------------------------------------------------


def queue_through_admin(client, first_pk):
    """The confirmed bulk send of the customer list, every customer selected."""
    response = client.post("/admin/crm/customer/", {
        "action": "send_whatsapp",
        "select_across": "1",
        "index": "0",
        "_selected_action": [first_pk],
        "text": TEXT,
        "confirm": "1",
    })
    if response.status_code != 302:
        raise RuntimeError(f"The send action answered {response.status_code}, not 302")


def plain_messages(user):
    """The same rows as a bulk send writes, built untimed for the baseline."""
    from django.utils import timezone

    from crm.models import Customer, Message, MessageBatch

    batch = MessageBatch.objects.create(created_by=user, text=TEXT)
    now = timezone.now()
    return [
        Message(customer_id=pk, phone=phone, text=TEXT.format(nama=name), batch=batch,
                queued_by=user, created_at=now, send_after=now)
        for pk, phone, name in Customer.objects.order_by("pk").values_list("pk", "phone", "name")
    ]


def bench_queueing(user, customers, repeat):
    from django.test import Client, override_settings
    from django_tasks_db.models import DBTaskResult

    from crm.models import Customer, Message

    client = Client()
    client.force_login(user)
    first_pk = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    ours, plain = [], []
    load_before = os.getloadavg()[0]
    # Alternating, so drift in the machine's load hits both sides alike.
    for _ in range(repeat):
        empty_outbox()
        with override_settings(TASKS=DUMMY_TASKS):
            started = time.perf_counter()
            queue_through_admin(client, first_pk)
            ours.append(time.perf_counter() - started)
        written = Message.objects.count()
        if written != customers:
            raise RuntimeError(f"The send queued {written:,} messages, not {customers:,}")
        if DBTaskResult.objects.exists():
            raise RuntimeError("The send enqueued a real sending task")

        empty_outbox()
        rows = plain_messages(user)
        started = time.perf_counter()
        Message.objects.bulk_create(rows)
        plain.append(time.perf_counter() - started)
        print(f"  ours {ours[-1]:.2f} s, plain bulk_create {plain[-1]:.2f} s", flush=True)
    empty_outbox()
    ratio = statistics.median(ours) / statistics.median(plain)
    return {
        "messages": customers,
        "ours_seconds": [round(t, 3) for t in ours],
        "plain_seconds": [round(t, 3) for t in plain],
        "ours_median_s": round(statistics.median(ours), 3),
        "plain_median_s": round(statistics.median(plain), 3),
        "ratio": round(ratio, 2),
        "goal": QUEUE_RATIO_GOAL,
        "met": ratio <= QUEUE_RATIO_GOAL,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


# --- Workers ---------------------------------------------------------------------------


class Workers:
    """Task worker processes against the bench database.

    ``command`` is ``worker`` (what `make run` and docker/entrypoint.sh start:
    django-tasks-db's ``db_worker`` plus a heartbeat thread that restarts
    sending a killed worker left behind) or the bare ``db_worker``.
    """

    def __init__(self, label, command, senders):
        self.label = label
        self.command = command
        self.environment = {
            **os.environ,
            # The production settings, as deployed; the environment holds the rest
            # (configure_environment, and SECRET_KEY set by bench.settings).
            # bench.settings would add the stock-admin baseline of the changelist
            # bench, whose checks are no business of a worker.
            "DJANGO_SETTINGS_MODULE": "project.settings",
            # How many sending tasks their heartbeat starts when sending stalled.
            "WHATSAPP_SENDERS": str(senders),
        }
        self.processes = []  # Popen objects, each with a .name (its worker id)
        self.killed = []  # names of the workers SIGKILLed
        self.logs = []
        self.log_dir = RESULTS_DIR / "whatsapp-workers"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, count=1):
        """Start ``count`` workers and wait until they are up."""
        started = []
        for _ in range(count):
            name = f"{self.label}-{len(self.processes) + 1}"
            log = (self.log_dir / f"{name}.log").open("w")
            command = [
                sys.executable, "manage.py", self.command, "--worker-id", name,
                "--interval", str(WORKER_INTERVAL),
                # All start at once on purpose: they should share the queue from the start.
                "--no-startup-delay", "--no-reload",
            ]
            # The environment carries the fake's URL, the limits and DATABASE_URL.
            process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.environment, stdout=log, stderr=log
            )
            process.name = name
            self.processes.append(process)
            self.logs.append(log)
            started.append(name)
        self.wait_until_up(started)

    def wait_until_up(self, names):
        """The heartbeat's first beat comes once Django is set up and checked; the bare
        db_worker says nothing, so give it the few seconds it takes here."""
        if self.command != "worker":
            time.sleep(3)
            return
        from crm.models import WorkerHeartbeat

        wait_for(
            lambda: WorkerHeartbeat.objects.filter(worker_id__in=names).count() == len(names),
            timeout=60, what=f"workers {', '.join(names)} to start", workers=self,
        )
        # Right after writing its row, a beat starts sending if messages are due
        # and no sender was seen: let that check pass before anything is queued,
        # or it would enqueue sending tasks of its own.
        time.sleep(1)

    def cpu_seconds(self):
        return sum(process_cpu_seconds(p.pid) for p in self.processes if p.poll() is None)

    def check_alive(self):
        """Fail at once if a worker died on its own."""
        for process in self.processes:
            if process.poll() is not None and process.name not in self.killed:
                log = (self.log_dir / f"{process.name}.log").read_text()
                raise RuntimeError(f"Worker {process.name} died:\n{log[-3000:]}")

    def kill(self, process):
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.killed.append(process.name)

    def stop(self):
        """SIGTERM (a worker finishes its task first), SIGKILL after 15 s."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()

    def tasks_idle(self):
        """No sending task due, none running on a live worker. Ignored: tasks
        deferred to later (a run checking on claims in flight when the last one
        ended), and the task of a killed worker (django-tasks-db leaves it
        RUNNING forever)."""
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        if DBTaskResult.objects.ready().exists():
            return False
        live = {p.name for p in self.processes if p.poll() is None}
        running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
        return not any(ids[-1] in live for ids in running.values_list("worker_ids", flat=True))


def start_sending(senders):
    """What queue_messages does once its transaction commits: ``senders`` tasks."""
    from django.test import override_settings

    from crm.whatsapp.tasks import start_sending as enqueue

    with override_settings(WHATSAPP_SENDERS=senders):
        enqueue()


def wait_for(condition, timeout, what, workers=None, poll=0.1, progress=None, stall_after=30):
    """Poll ``condition`` until true. Fail after ``timeout`` seconds, as soon as a
    worker dies (checked once a second), or, given ``progress`` (a callable
    returning a count), when it has not moved for ``stall_after`` seconds: every
    sender is gone, and failed_tasks() says why."""
    started = checked = moved = time.monotonic()
    last = progress() if progress else None
    while not condition():
        now = time.monotonic()
        if workers and now - checked >= 1:
            workers.check_alive()
            checked = now
        if progress and (current := progress()) != last:
            last, moved = current, now
        stalled = progress and now - moved > stall_after
        if stalled or now - started > timeout:
            why = f"nothing sent for {stall_after} s" if stalled else f"{timeout:.0f} s"
            raise RuntimeError(
                f"Gave up waiting for {what} ({why}); failed tasks: {failed_tasks()}"
            )
        time.sleep(poll)


def failed_tasks():
    """Sending tasks that failed (since the outbox was last emptied): where in our
    code, and the error."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    errors = []
    failed = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED)
    # A killed worker's task, marked failed by another worker's heartbeat, is
    # the expected outcome of the kill (counted by killed_workers_tasks).
    for task in failed.exclude(exception_class_path__endswith=".WorkerDied"):
        lines = task.traceback.strip().splitlines()
        # '  File "/…/crm/whatsapp/sender.py", line 337, in recover_stale_claims'
        ours = [line.strip() for line in lines if f'"{PROJECT_ROOT}/crm/' in line]
        where = ours[-1].replace(f'"{PROJECT_ROOT}/', '"') if ours else "?"
        errors.append(f"{where}: {lines[-1]}")
    return errors


def latest_deadlock():
    """InnoDB's report of the latest deadlock (for the JSON), if a task died of one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW ENGINE INNODB STATUS")
        status = cursor.fetchone()[2]
    start = status.find("LATEST DETECTED DEADLOCK")
    return status[start:status.find("\nTRANSACTIONS\n", start)] if start >= 0 else None


def killed_workers_tasks():
    """Tasks marked failed because the worker running them was killed."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(exception_class_path__endswith=".WorkerDied").count()


def task_failures():
    """Failed sending tasks, with the deadlock report when that is what killed them."""
    errors = failed_tasks()
    deadlocked = any("Deadlock" in error for error in errors)
    return {"failed_tasks": errors, "deadlock": latest_deadlock() if deadlocked else None,
            "killed_workers_tasks": killed_workers_tasks()}


# --- (b) Draining ---------------------------------------------------------------------


def rate(times, first, last):
    """Messages per second between the ``first``-th and ``last``-th acceptance."""
    span = times[last] - times[first]
    return (last - first) / span if span > 0 else None


def claim_plan():
    """EXPLAIN of the claim query (crm.whatsapp.sender.claim_next), with the queue full."""
    from django.db import connection, transaction
    from django.utils import timezone

    from crm.models import Message

    query = (
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=Message.Status.QUEUED, send_after__lte=timezone.now())
        .order_by("send_after", "pk")
        .values_list("pk", flat=True)[:1]
    )
    with transaction.atomic(), connection.cursor() as cursor:  # FOR UPDATE needs one
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def bench_draining(fake, user, command, worker_count, messages):
    from crm.models import Message

    empty_outbox()
    fake.reset()
    workers = Workers(f"drain{worker_count}", command, senders=worker_count)
    try:
        # Up before anything is queued: otherwise the first worker up (its
        # heartbeat sees due messages and no sender) would start alone.
        workers.start(worker_count)
        batch = queue_batch(user, customers_slice(0, messages))
        plan = claim_plan()
        cpu = CpuMeter().start()
        bench_cpu = time.process_time()
        load_before = os.getloadavg()[0]
        start_sending(worker_count)
        limit = worker_count / LATENCY
        wait_for(lambda: settled(batch), timeout=60 + 4 * messages / limit,
                 what="every message to be sent", workers=workers, poll=0.5,
                 progress=lambda: len(fake.accepted_at))
        machine_busy = cpu.stop()
        bench_cpu = time.process_time() - bench_cpu
        worker_cpu = workers.cpu_seconds()
        wait_for(workers.tasks_idle, timeout=30, what="the sending tasks to end", workers=workers)
    finally:
        workers.stop()

    times = sorted(fake.accepted_at)
    count = len(times)
    overall = rate(times, 0, count - 1)
    tenth = count // 10
    phones = collections.Counter(m["phone_number"] for m in fake.sent)
    result = {
        "workers": worker_count,
        "worker_command": command,
        "messages": batch.queued_count,
        "seconds": round(times[-1] - times[0], 2),
        "per_second": round(overall, 1),
        # Without the first and last tenth: start-up and the tail left out.
        "per_second_middle": round(rate(times, tenth, count - 1 - tenth), 1),
        "per_second_by_quarter": [
            round(rate(times, q * count // 4, (q + 1) * count // 4 - 1), 1) for q in range(4)
        ],
        "limit_per_second": round(limit, 1),
        "share_of_limit": round(overall / limit, 3),
        "goal": DRAIN_SHARE_GOAL,
        "met": overall / limit >= DRAIN_SHARE_GOAL,
        "statuses": status_counts(batch=batch),
        "duplicates": sum(1 for n in phones.values() if n > 1),
        "gateway_requests": len(fake.requests),
        "machine_cpu_busy": machine_busy,
        "cpu_seconds_per_message": {
            "workers": round(worker_cpu / count, 4),
            "bench_process_with_fake": round(bench_cpu / count, 4),
        },
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "claim_query_explain": plan,
        # A task that dies leaves its share of the queue to the others.
        **task_failures(),
    }
    if result["statuses"] != {Message.Status.SENT: batch.queued_count}:
        print(f"  WARNING: not all sent: {result['statuses']}")
    return result


# --- (c) Crash safety ---------------------------------------------------------------------


def kill_one(fake, workers, batch, kill_after):
    """SIGKILL the first worker, mid-send, once ``kill_after`` messages of ``batch``
    are sent."""
    from django_tasks_db.models import DBTaskResult

    wait_for(lambda: sent_count(batch) >= kill_after, timeout=120,
             what=f"{kill_after} messages sent", workers=workers, poll=0.02)
    # The gateway holds every request for a second (less than the read
    # timeout), so the worker surely dies waiting for an answer: its claim
    # is in flight and the gateway gets the message. Killed at a random
    # moment it would be between messages one time in four.
    fake.latency = 1.0
    time.sleep(0.2)
    victim = workers.processes[0]
    workers.kill(victim)
    fake.latency = LATENCY
    return {
        "worker": victim.name,
        "sent_when_killed": sent_count(batch),
        # A task due here would be picked up by the next worker at once.
        "tasks_waiting_at_kill": DBTaskResult.objects.ready().count(),
    }


def restart_run(fake, user, command, customers, watch_seconds):
    """The only worker killed mid-run and a new one started: does sending go on?"""
    workers = Workers("restart", command, senders=1)
    try:
        workers.start(1)
        batch = queue_batch(user, customers)
        start_sending(1)
        killed = kill_one(fake, workers, batch, batch.queued_count // 3)
        killed_at = time.monotonic()
        workers.start(1)
        # Nothing enqueues a task for the new worker; the killed one's stays
        # RUNNING. Watch whether sending resumes by itself (the heartbeat of
        # `manage.py worker` restarts it once no sender was seen for
        # crm.whatsapp.sender.SILENT_TOO_LONG, the workers' DEAD_AFTER).
        before = sent_count(batch)
        deadline = killed_at + watch_seconds
        while time.monotonic() < deadline and sent_count(batch) == before:
            time.sleep(0.5)
        resumed = sent_count(batch) > before
        killed.update({
            "watched_s": watch_seconds,
            "resumed_by_itself_after_s": round(time.monotonic() - killed_at) if resumed else None,
            "queued_when_watch_ended": queued_count(batch),
        })
        if not resumed:
            start_sending(1)  # what the next bulk send would do
        wait_for(lambda: queued_count(batch) == 0, timeout=120, what="the rest to be sent",
                 workers=workers, progress=lambda: len(fake.accepted_at))
        wait_for(workers.tasks_idle, timeout=30, what="the sending tasks to end", workers=workers)
    finally:
        workers.stop()
    return batch, killed


def sending_count(**filters):
    from crm.models import Message

    return Message.objects.filter(status=Message.Status.SENDING, **filters).count()


def crash_run(fake, user, command, customers, kill_after):
    """Two workers, one killed after ``kill_after`` sent, a new one started."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    # No task left over from the run before (one deferred to check on claims
    # would give the new worker something to do).
    DBTaskResult.objects.all().delete()
    workers = Workers("crash", command, senders=2)
    try:
        workers.start(2)
        batch = queue_batch(user, customers)
        start_sending(2)
        first = len(fake.accepted_at)
        killed = kill_one(fake, workers, batch, kill_after)
        killed_at, killed_wall = time.monotonic(), timezone.now()
        at_kill = len(fake.accepted_at)
        # As a supervisor would. Nothing gives it a task: the survivor sends the rest.
        workers.start(1)
        # Claims made before the kill and still `sending` once any send would
        # have ended are the dead worker's: in flight when it was killed.
        time.sleep(max(0.0, killed_at + CONNECT_TIMEOUT + READ_TIMEOUT - time.monotonic()))
        killed["in_flight_at_kill"] = sending_count(batch=batch, claimed_at__lt=killed_wall)
        # Watched while the rest drains: when the dead claim stops being `sending`.
        dead_claim = DeadClaim(batch, killed_at, killed_wall)
        wait_for(lambda: dead_claim.check() and queued_count(batch) == 0, timeout=300,
                 what="the queue to drain", workers=workers, poll=0.5,
                 progress=lambda: len(fake.accepted_at))
        killed["drained_s_after_kill"] = round(time.monotonic() - killed_at, 1)
        times = sorted(fake.accepted_at)
        killed["per_second_before_kill"] = round(rate(times, first, at_kill - 1), 1)
        killed["per_second_after_kill"] = round(rate(times, at_kill, len(times) - 1), 1)
        killed["recovered_by_itself_after_s"] = (
            dead_claim.wait(workers) if killed["in_flight_at_kill"] else None
        )
        wait_for(workers.tasks_idle, timeout=30, what="the sending tasks to end", workers=workers)
    finally:
        workers.stop()
    return batch, killed


class DeadClaim:
    """When the killed worker's claim (made before ``killed_wall``) stopped being
    `sending`, in seconds after the kill."""

    def __init__(self, batch, killed_at, killed_wall):
        self.batch, self.killed_at, self.killed_wall = batch, killed_at, killed_wall
        self.settled_after = None

    def check(self):
        """Always True (it only takes note), so it can ride along another condition."""
        if self.settled_after is None and not sending_count(
            batch=self.batch, claimed_at__lt=self.killed_wall
        ):
            self.settled_after = round(time.monotonic() - self.killed_at, 1)
        return True

    def wait(self, workers):
        """The seconds, if the claim is settled by itself within half a minute of
        going stale; else None, and a sending run is started (what the next bulk
        send would do) to settle it."""
        remaining = self.killed_at + STALE_AFTER + 30 - time.monotonic()
        if self.settled_after is None:
            print(f"  waiting up to {max(0, remaining):.0f} s for the dead claim to be settled",
                  flush=True)
        try:
            wait_for(lambda: self.check() and self.settled_after is not None,
                     timeout=max(0, remaining), what="the dead claim to be settled",
                     workers=workers, poll=0.5)
        except RuntimeError:
            start_sending(1)
            wait_for(lambda: sending_count() == 0, timeout=30,
                     what="the stale claims to be recovered", workers=workers)
        return self.settled_after


def crash_outcome(batch, phones):
    """Where ``batch``'s messages ended, and what the gateway got of them (``phones``:
    how many times it accepted each number)."""
    from crm.models import Message

    statuses = status_counts(batch=batch)
    received = {
        phone: phones.get(phone, 0)
        for phone in Message.objects.filter(batch=batch).values_list("phone", flat=True)
    }
    unknown = Message.objects.filter(batch=batch, status=Message.Status.UNKNOWN).values_list(
        "phone", flat=True
    )
    return {
        "messages": batch.queued_count,
        "statuses": statuses,
        "duplicates": sum(1 for n in received.values() if n > 1),
        "never_received": sum(1 for n in received.values() if n == 0),
        "stuck": statuses.get(Message.Status.QUEUED, 0) + statuses.get(Message.Status.SENDING, 0),
        "unknown": len(unknown),
        # Whether the gateway got an unknown message before its worker died (1)
        # or not (0) is luck; more than 1 would be a resend.
        "unknown_received_by_gateway": sum(received[phone] for phone in unknown),
        "unknown_resent": sum(1 for phone in unknown if received[phone] > 1),
    }


# The gateway's ways of failing a send that the failures run mixes in: the
# first three accept the message and then fail (it has it), the last two
# never queue it (it has not).
FAILURE_MODES = ("500_accepted", "drop_accepted", "201_without_id", "drop", "500")
FAILURE_EVERY = 20  # accepted messages between two injected failures


def failures_run(fake, user, command, customers, kill_after):
    """Two workers; KirimWA fails a send every FAILURE_EVERY messages in one
    of FAILURE_MODES, and one worker is killed mid-send. Then: whether the
    workers settle every unknown message by themselves, and what is left
    once NOT_RECEIVED_AFTER has passed (settle_unknown with its clock moved
    on, as a worker would run it 30 minutes later)."""
    from django.db.models import Q
    from django_tasks_db.models import DBTaskResult

    from crm.models import Message

    DBTaskResult.objects.all().delete()
    workers = Workers("failures", command, senders=2)
    facts = {"injected": collections.Counter()}
    try:
        workers.start(2)
        batch = queue_batch(user, customers)
        first = len(fake.accepted_at)
        start_sending(2)
        injected = 0

        def inject():
            nonlocal injected
            while (len(fake.accepted_at) - first) >= (injected + 1) * FAILURE_EVERY:
                mode = FAILURE_MODES[injected % len(FAILURE_MODES)]
                fake.fail_next(mode)
                facts["injected"][mode] += 1
                injected += 1
            return True

        wait_for(lambda: inject() and sent_count(batch) >= kill_after, timeout=120,
                 what=f"{kill_after} messages sent", workers=workers, poll=0.02)
        facts.update(kill_one(fake, workers, batch, kill_after))
        killed_at = time.monotonic()
        workers.start(1)
        wait_for(lambda: inject() and queued_count(batch) == 0, timeout=300,
                 what="the queue to drain", workers=workers, poll=0.05,
                 progress=lambda: len(fake.accepted_at))
        facts["drained_s_after_kill"] = round(time.monotonic() - killed_at, 1)
        facts["unknown_when_drained"] = Message.objects.filter(
            batch=batch, status=Message.Status.UNKNOWN).count()
        # The dead claim goes stale, a worker makes it unknown and asks KirimWA
        # about it: the workers alone, no new send started by the bench.
        # Done when nothing is being sent and every unknown one was asked about.
        unasked = Message.objects.filter(batch=batch).filter(
            Q(status=Message.Status.SENDING)
            | Q(status=Message.Status.UNKNOWN, checked_at__isnull=True))
        started = time.monotonic()
        try:
            wait_for(lambda: not unasked.exists(), timeout=STALE_AFTER + 60,
                     what="the workers to ask KirimWA", workers=workers, poll=0.5)
        except RuntimeError:
            pass  # counted below
        facts["settled_by_workers_s"] = round(time.monotonic() - started, 1)
        facts["unknown_left_by_workers"] = Message.objects.filter(
            batch=batch, status=Message.Status.UNKNOWN).count()
        facts["sending_left_by_workers"] = sending_count(batch=batch)
        wait_for(workers.tasks_idle, timeout=30, what="the sending tasks to end", workers=workers)
    finally:
        workers.stop()
    facts["injected"] = dict(facts["injected"])
    return batch, facts


def settle_later():
    """What a worker's settle_unknown decides NOT_RECEIVED_AFTER later, with
    no worker running (its clock moved on): every unknown message ends
    found in KirimWA's list or failed as not received. Returns the minutes."""
    from django.utils import timezone

    from crm.whatsapp import gateway, sender

    later = timezone.now() + sender.NOT_RECEIVED_AFTER + datetime.timedelta(minutes=1)
    sender.recover_stale_claims(later)
    backend = gateway.get_backend()
    while sender.settle_unknown(backend, later):
        pass
    return sender.NOT_RECEIVED_AFTER.total_seconds() / 60


def failures_outcome(batch, phones):
    """Beyond crash_outcome: messages failed as not received that KirimWA did
    get (the owner would resend them: a duplicate in waiting)."""
    from crm.models import Message

    not_received = Message.objects.filter(
        batch=batch, status=Message.Status.FAILED, reason=Message.Reason.NOT_RECEIVED
    ).values_list("phone", flat=True)
    return {
        "not_received": len(not_received),
        "not_received_but_got": sum(1 for phone in not_received if phones.get(phone, 0)),
    }


def confirmation_form(client, url, data):
    """Post ``data`` (the action page, or its Preview) and return the Send
    form as the page shows it: its fields, with its one-time token."""
    import re

    response = client.post(url, data)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code} to a preview")
    token = re.search(r'name="request_token" value="([^"]*)"', response.content.decode())
    return token[1] if token else ""


def double_submit_run(user, customers):
    """The confirmation of a bulk send posted twice through the whole web stack
    (middleware, admin, view; the test client, logged in): one after the other,
    at the same moment from two threads (two database connections), and as
    Back does (the Preview posted again, then Send). Batches made by each."""
    import threading

    from django.db import connection
    from django.test import Client, override_settings

    from crm.models import Message, MessageBatch

    url = "/admin/crm/customer/"
    selection = {"action": "send_whatsapp", "index": "0", "select_across": "0",
                 "_selected_action": [c.pk for c in customers]}

    def client():
        c = Client()
        c.force_login(user)
        return c

    def previewed(c, text):
        token = confirmation_form(c, url, selection)
        first_page = {**selection, "request_token": token, "text": text, "preview": "1"}
        send = {**first_page, "request_token": confirmation_form(c, url, first_page),
                "confirm": "1"}
        del send["preview"]
        return first_page, send

    def post(c, data, answers):
        try:
            answers.append(c.post(url, data).status_code)
        finally:
            connection.close()

    result = {"customers": len(customers)}
    with override_settings(TASKS=DUMMY_TASKS):  # queued, not sent: no worker runs
        c = client()
        _, send = previewed(c, TEXT + " (dua kali)")
        answers = []
        post(c, send, answers)
        post(c, send, answers)
        result["one_after_the_other"] = (answers, TEXT + " (dua kali)")

        _, send = previewed(c, TEXT + " (bersamaan)")
        answers, barrier = [], threading.Barrier(2)
        clients = [client(), client()]

        def at_once(c):
            barrier.wait()
            post(c, send, answers)

        threads = [threading.Thread(target=at_once, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result["at_the_same_moment"] = (answers, TEXT + " (bersamaan)")

        first_page, send = previewed(c, TEXT + " (kembali)")
        answers = []
        post(c, send, answers)
        again = {**first_page, "request_token": confirmation_form(c, url, first_page),
                 "confirm": "1"}
        del again["preview"]
        post(c, again, answers)
        result["back_and_send_again"] = (answers, TEXT + " (kembali)")

    for case in ["one_after_the_other", "at_the_same_moment", "back_and_send_again"]:
        answers, text = result[case]
        batches = MessageBatch.objects.filter(text=text)
        result[case] = {"answers": answers, "batches": batches.count(),
                        "messages": Message.objects.filter(batch__in=batches).count()}
    # Queued only to be counted: nothing of it may reach a later run's workers.
    done = MessageBatch.objects.filter(text__startswith=TEXT + " (")
    Message.objects.filter(batch__in=done).delete()
    done.delete()
    return result


def bench_crash(fake, user, args):
    empty_outbox()
    fake.reset()
    load_before = os.getloadavg()[0]
    runs = []
    restart = min(args.restart_messages, args.customers)
    if restart:
        print(f"  the only worker killed ({restart} messages) ...", flush=True)
        runs.append(("restart", *restart_run(
            fake, user, args.worker_command, customers_slice(0, restart), args.restart_watch
        )))
    messages = min(args.crash_messages, args.customers - restart)
    if messages:
        print(f"  2 workers, one killed ({messages:,} messages) ...", flush=True)
        customers = customers_slice(restart, restart + messages)
        runs.append(
            ("crash", *crash_run(fake, user, args.worker_command, customers, args.kill_after))
        )
    failing = min(args.failure_messages, args.customers - restart - messages)
    if failing:
        print(f"  KirimWA failing every {FAILURE_EVERY}th send, one worker killed"
              f" ({failing:,} messages) ...", flush=True)
        start = restart + messages
        runs.append(("failures", *failures_run(
            fake, user, args.worker_command, customers_slice(start, start + failing),
            failing // 2,
        )))
    unknown_before = {name: status_counts(batch=batch).get("unknown", 0)
                      for name, batch, _facts in runs}
    later_min = settle_later()
    # The runs' customers are distinct: a number twice is a message sent twice.
    phones = collections.Counter(message["phone_number"] for message in fake.sent)
    result = {
        name: {**facts, "unknown_before_settling_time": unknown_before[name],
               "not_received_after_min": later_min,
               **crash_outcome(batch, phones), **failures_outcome(batch, phones)}
        for name, batch, facts in runs
    }
    selected = min(args.double_submit_customers, args.customers)
    if selected:
        print(f"  confirmations posted twice ({selected} customers) ...", flush=True)
        result["double_submit"] = double_submit_run(user, customers_slice(0, selected))
    result.update(task_failures())
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


# --- Report --------------------------------------------------------------------------


def table_rows(results):
    """(part, measured, baseline or limit, ratio, goal, met) for each figure."""
    queue = results.get("queue")
    if queue:
        yield (
            f"(a) queue {queue['messages']:,} messages through the admin action",
            f"{queue['ours_median_s']:.2f} s",
            f"{queue['plain_median_s']:.2f} s (plain bulk_create)",
            f"{queue['ratio']:.2f}×", f"≤ {QUEUE_RATIO_GOAL:g}×", queue["met"],
        )
    for run in results.get("drain", []):
        yield (
            f"(b) drain {run['messages']:,} with {run['workers']} worker(s)",
            f"{run['per_second']:.1f} msg/s",
            f"{run['limit_per_second']:.0f} msg/s (N ÷ {LATENCY * 1000:.0f} ms)",
            f"{run['share_of_limit']:.1%}", f"≥ {DRAIN_SHARE_GOAL:.0%}", run["met"],
        )
    crash = results.get("crash", {}).get("crash")
    if crash:
        part = f"(c) {crash['messages']:,} messages, 1 of 2 workers killed:"
        yield (f"{part} numbers sent twice", str(crash["duplicates"]), "", "", "0",
               crash["duplicates"] == 0)
        yield (f"{part} left queued or sending", str(crash["stuck"]), "", "", "0",
               crash["stuck"] == 0)
        in_flight = crash["in_flight_at_kill"]
        yield (
            f"{part} unknown when the workers were done",
            str(crash["unknown_before_settling_time"]), f"{in_flight} in flight at the kill",
            "", "≤ in flight", crash["unknown_before_settling_time"] <= in_flight,
        )
        yield from settling_rows(part, crash)
        recovered = crash["recovered_by_itself_after_s"]
        yield (
            f"{part} dead claim settled without a new send",
            f"{recovered} s after the kill" if recovered is not None
            else "no" if in_flight else "(none in flight)",
            f"stale after {STALE_AFTER} s", "", "(none set)", recovered is not None,
        )
    failures = [
        error
        for part in [*results.get("drain", []), results.get("crash", {})]
        for error in part.get("failed_tasks", [])
    ]
    if "drain" in results or "crash" in results:
        kinds = "; ".join(sorted({error[:120] for error in failures}))
        measured = f"{len(failures)} ({kinds})" if failures else "0"
        yield ("(b, c) sending tasks that failed", measured, "", "", "0", not failures)
    failing = results.get("crash", {}).get("failures")
    if failing:
        part = (f"(c) {failing['messages']:,} messages, KirimWA failing 1 send in"
                f" {FAILURE_EVERY} ({', '.join(FAILURE_MODES)}), 1 of 2 workers killed:")
        yield (f"{part} numbers sent twice", str(failing["duplicates"]), "", "", "0",
               failing["duplicates"] == 0)
        yield (f"{part} left queued or sending", str(failing["stuck"]), "", "", "0",
               failing["stuck"] == 0)
        yield (
            f"{part} unknown once the workers had asked KirimWA (not received yet: no"
            f" trace, decided after {failing['not_received_after_min']:g} min)",
            str(failing["unknown_left_by_workers"]),
            f"{failing['unknown_when_drained']} unknown when the queue drained", "",
            "(none set)", True,
        )
        yield from settling_rows(part, failing)
    double = results.get("crash", {}).get("double_submit")
    if double:
        for case, label in [("one_after_the_other", "one after the other"),
                            ("at_the_same_moment", "at the same moment (2 threads)"),
                            ("back_and_send_again", "as Back does (Preview again, Send)")]:
            run = double[case]
            yield (f"(c) a confirmation to {double['customers']} customers posted twice,"
                   f" {label}: batches", f"{run['batches']} ({run['messages']} messages)",
                   "", "", f"1 ({double['customers']} messages)",
                   run["batches"] == 1 and run["messages"] == double["customers"])
    killed = results.get("crash", {}).get("killed_workers_tasks")
    if killed is not None:
        yield ("(c) killed workers' tasks marked failed by a live worker's heartbeat",
               str(killed), "", "", "(none set)", True)
    restart = results.get("crash", {}).get("restart")
    if restart:
        resumed = restart["resumed_by_itself_after_s"]
        yield (
            f"(c) {restart['messages']:,} messages, the only worker killed and a new one"
            f" started: sending resumed by itself within {restart['watched_s']} s",
            f"{'after ' + str(resumed) + ' s' if resumed is not None else 'no'}"
            f" ({restart['queued_when_watch_ended']} still queued)",
            "", "", "(none set)", resumed is not None,
        )


def settling_rows(part, run):
    """What was left NOT_RECEIVED_AFTER later (settle_later)."""
    minutes = f"{run['not_received_after_min']:g} min"
    yield (f"{part} unknown left {minutes} later", str(run["unknown"]), "", "", "0",
           run["unknown"] == 0)
    yield (
        f"{part} failed as not received though KirimWA got them (of"
        f" {run['not_received']} not received)",
        str(run["not_received_but_got"]), "", "", "0", run["not_received_but_got"] == 0,
    )


def print_table(results):
    print("\n## WhatsApp sending\n")
    print("| part | measured | baseline / limit | ratio | goal | met |")
    print("|---|---:|---:|---:|---|---|")
    for *cells, met in table_rows(results):
        print("| " + " | ".join([*cells, "yes" if met else "NO"]) + " |")


# --- Main ----------------------------------------------------------------------------


def git_state():
    """The commit measured, and whether the sending code differs from it."""
    def git(*command):
        return subprocess.run(["git", *command], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, check=False).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"),
            "crm_whatsapp_uncommitted": bool(git("status", "--porcelain", "crm/whatsapp"))}


def main():
    args = parse_args()
    started_all = time.monotonic()
    load = machine_load()
    print(f"{os.cpu_count()} CPUs, load average {load['load_average']}")
    for command in load["other_benches"]:
        print(f"WARNING: another benchmark is running, timings will be skewed: {command}")

    from bench.changelist import prepare_server, run_facts, setup_django, write_results

    fake = start_fake()
    configure_environment(fake)
    server = prepare_server(args.database_url, 0)
    setup_django(args.database_url)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    check_settings(fake)
    call_command("migrate", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.update_or_create(
        username="bench-admin",
        defaults={"is_staff": True, "is_superuser": True, "is_active": True},
    )
    ensure_customers(args.customers)

    results = {}
    if "queue" in args.parts:
        print(f"(a) queueing {args.customers:,} messages, {args.repeat} runs each ...", flush=True)
        results["queue"] = bench_queueing(user, args.customers, args.repeat)
    if "drain" in args.parts:
        results["drain"] = []
        for worker_count, messages in args.drain:
            messages = min(messages, args.customers)
            print(f"(b) draining {messages:,} with {worker_count} worker(s) ...", flush=True)
            run = bench_draining(fake, user, args.worker_command, worker_count, messages)
            print(f"  {run['per_second']} msg/s ({run['share_of_limit']:.1%} of the limit)")
            results["drain"].append(run)
    if "crash" in args.parts:
        print("(c) crash safety ...", flush=True)
        results["crash"] = bench_crash(fake, user, args)
    empty_outbox()
    fake.stop()

    print_table(results)
    total = time.monotonic() - started_all
    print(f"\nWhole bench: {total / 60:.1f} min; load average now {os.getloadavg()[0]:.2f}")
    output = {
        **run_facts(server),
        "load_at_start": load,
        "code": git_state(),
        "options": {
            **vars(args), "parts": sorted(args.parts), "output": str(args.output),
        },
        "gateway": {"fake": "tests/fake_kirimwa.py", "latency_s": LATENCY,
                    "connect_timeout_s": CONNECT_TIMEOUT, "read_timeout_s": READ_TIMEOUT},
        **results,
        "total_seconds": round(total, 1),
    }
    write_results(args.output, output)


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
