"""`manage.py worker` stops with what started it: `make run`'s recipe (the same
SERVE command line, through `make serve`) and the worker's own autoreloader.

Real processes on a throwaway SQLite database, with DEBUG on as `make run` has
it (so the worker runs under its autoreloader: a reloader and a child).
Linux only: processes are found through /proc.
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def environment_for(database):
    env = {
        **os.environ, "ENV_FILE": "", "DEBUG": "1", "SECRET_KEY": "tests-only",
        "DATABASE_URL": f"sqlite:///{database}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("RUN_MAIN", None)
    return env


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    database = tmp_path_factory.mktemp("worker") / "db.sqlite3"
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT,
                   env=environment_for(database), check=True)
    return database


@pytest.fixture
def environment(migrated_database, tmp_path):
    """The environment of `make run` with DEBUG on, and a database of its own."""
    database = shutil.copy(migrated_database, tmp_path / "db.sqlite3")
    return environment_for(database)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_processes(session):
    """{pid: command line} of the processes in ``session`` (their setsid leader's pid)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == session and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def workers(session):
    return [pid for pid, command in session_processes(session).items()
            if command.split()[1:3] == ["manage.py", "worker"]]


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def start(environment, tmp_path):
    """Start a command in a session of its own; kill what is left of it afterwards."""
    started = []

    def run(command):
        log = tmp_path / f"{len(started)}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, start_new_session=True,
                stdout=output, stderr=subprocess.STDOUT,
            )
        started.append(process)
        # Started: the reloader and its child, which runs the tasks.
        assert wait_for(lambda: "Starting worker" in log.read_text(), 60), log.read_text()
        assert len(workers(process.pid)) == 2
        return process

    yield run
    for process in started:
        for pid in session_processes(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


def make_serve():
    installed = next(ROOT.glob(".venv/.installed-*"), ROOT / ".venv/.installed-base")
    # -o: neither write a .env nor reinstall the requirements for this.
    return ["make", "-s", "-o", ".env", "-o", str(installed.relative_to(ROOT)), "serve",
            f"PY={PYTHON}", f"PORT={free_port()}"]


def test_stopping_make_stops_the_worker_and_the_web_server(start):
    make = start(make_serve())
    os.kill(make.pid, signal.SIGTERM)
    make.wait()  # as the shell that started make would
    assert wait_for(lambda: not session_processes(make.pid), 10), session_processes(make.pid)


def test_ctrl_c_stops_the_worker_and_the_web_server(start):
    make = start(make_serve())
    os.killpg(make.pid, signal.SIGINT)  # what the terminal sends to the whole group
    assert wait_for(lambda: not session_processes(make.pid), 10), session_processes(make.pid)


def test_the_worker_stops_when_make_is_killed_outright(start):
    make = start(make_serve())
    os.kill(make.pid, signal.SIGKILL)
    make.wait()
    assert wait_for(lambda: not workers(make.pid), 10), session_processes(make.pid)


def heartbeats(environment):
    with sqlite3.connect(environment["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return db.execute("SELECT count(*) FROM crm_workerheartbeat").fetchone()[0]


def test_the_worker_stops_when_its_autoreloader_is_killed(start, environment):
    reloader = start([PYTHON, "manage.py", "worker"])
    # One worker runs tasks and beats: the child, not the reloader.
    assert wait_for(lambda: heartbeats(environment) == 1, 10)
    time.sleep(1)
    assert heartbeats(environment) == 1
    os.kill(reloader.pid, signal.SIGKILL)
    assert wait_for(lambda: not workers(reloader.pid), 10), session_processes(reloader.pid)
    assert heartbeats(environment) == 0  # it stopped as cleanly as after Ctrl+C
