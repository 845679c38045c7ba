"""The embedded default, SQLite, keeps serving while a big import writes:
write-ahead log, a busy timeout and IMMEDIATE transactions
(project/settings.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = Path(__file__).resolve().parent / "sqlite_sessions.py"


@pytest.fixture
def sqlite_file(tmp_path):
    """A migrated SQLite file of its own, and the environment that uses it."""
    environment = {
        **os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ENV_FILE": "", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT,
                   env=environment, check=True, capture_output=True)
    return environment


def run(environment, *arguments):
    return subprocess.Popen([sys.executable, str(SESSIONS), *map(str, arguments)],
                            cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True)


def test_reads_go_on_and_writes_wait_their_turn_during_a_long_import(sqlite_file, tmp_path):
    marker = tmp_path / "import-is-writing"
    other = run(sqlite_file, "other", marker)
    importing = run(sqlite_file, "import", 10_000, marker)
    imported = json.loads(importing.communicate(timeout=120)[0])
    meanwhile = json.loads(other.communicate(timeout=120)[0])
    assert imported["created"] == 10_000
    assert "error" not in meanwhile, meanwhile
    # Read while the import held the write lock, and saw none of its rows.
    assert meanwhile["read"] < imported["committed"]
    assert meanwhile["customers_seen"] == 0
    # The writes waited for the import's commit instead of failing.
    assert meanwhile["written"] >= imported["committed"]


def test_the_database_file_is_in_write_ahead_log_mode(sqlite_file):
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c",
         "from django.db import connection; c = connection.cursor(); "
         "print(c.execute('PRAGMA journal_mode').fetchone()[0], "
         "c.execute('PRAGMA busy_timeout').fetchone()[0])"],
        cwd=ROOT, env=sqlite_file, check=True, capture_output=True, text=True,
    ).stdout.split()
    assert output == ["wal", "20000"]
