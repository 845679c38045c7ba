"""gunicorn started as docker/entrypoint.sh starts it, for tests of its logs."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(tmp_path, stderr=subprocess.PIPE, **environment):
    """Yield (server, port) once gunicorn listens (DEBUG on, an unused SQLite
    database, ``environment`` on top); stop it with SIGTERM after. Read its
    output with ``server.communicate()`` once stopped: ``stopped(server)``."""
    port = free_port()
    env = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "project.settings", "ENV_FILE": "",
        "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        **environment,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--access-logfile", "-", "--config", "python:project.gunicorn_conf"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield server, port
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)


def stopped(server):
    """(stdout, stderr) of a server the gunicorn() block has stopped."""
    return server.communicate(timeout=30)
