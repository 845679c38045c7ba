"""The container entrypoint, run outside Docker against MariaDB, as CI does.

This runs docker/entrypoint.sh itself, in seconds (`make docker-check` runs
it in the image): two starters migrate at once (one migrates, the other waits), web
and worker start, /healthz answers; then two worker processes share a queue
and each task runs once. Uses its own database, ``crm_entrypoint``
(.ci/run creates it), emptied first.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import environ
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
DATABASE = "crm_entrypoint"


def database_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("mysql"):
        return None
    config = environ.Env.db_url_config(url)
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "127.0.0.1"
    return f"mysql://{config['USER']}{password}@{host}:{config.get('PORT') or 3306}/{DATABASE}"


@pytest.fixture(scope="module")
def environment():
    url = database_url()
    if url is None:
        pytest.skip("needs MariaDB (DATABASE_URL=mysql://...); CI runs it there")
    import MySQLdb

    config = environ.Env.db_url_config(url)
    try:
        server = MySQLdb.connect(
            host=config["HOST"] or "127.0.0.1", port=int(config["PORT"] or 3306),
            user=config["USER"], password=config.get("PASSWORD") or "",
        )
    except MySQLdb.Error as error:
        pytest.skip(f"cannot reach MariaDB: {error}")
    cursor = server.cursor()
    try:
        # A fresh database each run: the starters find nothing migrated.
        cursor.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        cursor.execute(
            f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    except MySQLdb.Error as error:
        pytest.skip(f"no rights on the {DATABASE} database (.ci/run grants them): {error}")
    finally:
        server.close()
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "ENV_FILE": "",
        "DEBUG": "0",
        "SECRET_KEY": "entrypoint-test-secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "WEB_CONCURRENCY": "2",
        "WHATSAPP_BACKEND": "crm.whatsapp.gateway.ConsoleBackend",
    }


def start(environment, *args):
    return subprocess.Popen(
        [str(ENTRYPOINT), *args], cwd=ROOT, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(environment, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, check=True,
    ).stdout


def test_two_starters_migrate_once_then_web_and_worker_report_healthy(environment):
    starters = [start(environment, "migrate") for _ in range(2)]
    outputs = [starter.communicate(timeout=300)[0] for starter in starters]
    assert [starter.returncode for starter in starters] == [0, 0], outputs
    # Exactly one of them applied the migrations.
    applied = [output.count("Applying ") for output in outputs]
    assert sorted(applied)[0] == 0 and sorted(applied)[1] > 10, outputs
    assert "No planned migration operations" in manage(environment, "migrate", "--plan")

    port = free_port()
    web = start({**environment, "BIND": f"127.0.0.1:{port}"}, "web")
    worker = start(environment, "worker")
    try:
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    health = (r.status, json.load(r))
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)  # not up yet, or no worker heartbeat yet (503)
        assert health is not None and health[0] == 200, (stop(web), stop(worker))
        assert health[1]["checks"] == {"database": "ok", "migrations": "ok", "worker": "ok"}
    finally:
        stop(web)
        stop(worker)
    assert web.returncode is not None and worker.returncode is not None


def test_two_workers_share_the_queue_and_run_each_task_once(environment):
    manage(environment, "migrate_once")
    enqueue = (
        "import django; django.setup()\n"
        "from tests.tasks import take_a_moment\n"
        "for n in range(40): take_a_moment.enqueue(n)\n"
    )
    subprocess.run([sys.executable, "-c", enqueue], cwd=ROOT, env=environment, check=True)
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--batch", "--interval", "0.1",
             "--worker-id", f"w{i}"], cwd=ROOT, env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    check = (
        "import django, json; django.setup()\n"
        "from django_tasks_db.models import DBTaskResult\n"
        "rows = DBTaskResult.objects.filter(task_path='tests.tasks.take_a_moment')\n"
        "print(json.dumps([[r.status, r.worker_ids] for r in rows]))\n"
    )
    rows = json.loads(subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, env=environment, check=True,
        capture_output=True, text=True,
    ).stdout)
    assert len(rows) == 40
    assert all(status == "SUCCESSFUL" and len(ids) == 1 for status, ids in rows), rows
    assert {ids[0] for _status, ids in rows} == {"w0", "w1"}  # both took a share


def test_backup_and_restore_use_the_backup_directory(tmp_path):
    """`docker/entrypoint.sh backup` writes into BACKUP_DIR and `restore <name>` reads from it,
    wherever it is started from (in the image the code's folder is not writable)."""
    backups = tmp_path / "backups"
    backups.mkdir()
    environment = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "ENV_FILE": "",
        "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}",
        "PYTHON": sys.executable, "BACKUP_DIR": str(backups),
    }
    manage(environment, "migrate", "--verbosity", "0")
    written = subprocess.run(
        [str(ENTRYPOINT), "backup"], cwd=tmp_path, env=environment,
        capture_output=True, text=True, check=True,
    ).stdout
    [backup] = list(backups.iterdir())
    assert written.strip() == f"Backup written to {backup.name}"
    restored = subprocess.run(
        [str(ENTRYPOINT), "restore", backup.name], cwd=tmp_path, env=environment,
        capture_output=True, text=True, check=True,
    ).stdout
    assert restored.strip() == f"Restored {backup.name}"
