"""The Docker image and compose file, checked without a Docker engine.

`make docker-check` (docker/check/check.sh, run by CI) builds and runs them;
these tests read them for what production relies on, in a second and
without a daemon. The compose file is validated by Debian's docker-compose,
which checks it against the Compose schema and interpolates the environment.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stages():
    """The Dockerfile's stages, each as its instruction lines (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines()]
    found = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def instructions(stage, keyword):
    return [line for line in stage if line.split()[0].upper() == keyword]


def test_the_image_builds_the_driver_apart_and_runs_as_a_user_with_a_health_check():
    build, final = stages()
    # The compiler and the MySQL headers stay in the build stage.
    assert any("default-libmysqlclient-dev" in line for line in instructions(build, "RUN"))
    final_runs = " ".join(instructions(final, "RUN"))
    assert "build-essential" not in final_runs and "-dev" not in final_runs
    assert "collectstatic" in final_runs
    users = instructions(final, "USER")
    assert users and users[-1].split()[1] not in {"root", "0"}
    health_checks = instructions(final, "HEALTHCHECK")
    assert health_checks and "/healthz" in health_checks[0]
    assert instructions(final, "ENTRYPOINT") == ['ENTRYPOINT ["docker/entrypoint.sh"]']
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)
    for line in instructions(build, "COPY"):
        for name in line.split()[1:-1]:
            assert (ROOT / name).exists(), f"the Dockerfile copies a missing {name}"


def test_the_image_gets_the_virtualenv_alone_and_a_data_directory_for_its_user():
    build, final = stages()
    # No wheel reaches a layer: the build stage installs into /opt/venv and
    # the image copies only that.
    assert any("/opt/venv" in line for line in instructions(build, "RUN"))
    copies = " ".join(instructions(final, "COPY"))
    assert "--from=build /opt/venv /opt/venv" in copies and "wheel" not in copies
    final_runs = " ".join(instructions(final, "RUN"))
    assert "chown -R crm:crm /data" in final_runs
    assert "--chown" not in copies  # the code stays root's
    environment = " ".join(instructions(final, "ENV"))
    assert "BACKUP_DIR=/data/backups" in environment
    assert "DATABASE_URL=sqlite:////data/db.sqlite3" in environment


def test_secrets_local_state_and_what_only_development_needs_stay_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "db.sqlite3", ".git"} <= ignored
    assert {"tests", "bench", "docs", ".ci", "docker/check"} <= ignored


def compose(tmp_path, *args, db_password="a-long-database-password"):
    if shutil.which("docker-compose") is None:
        pytest.skip("needs Debian's docker-compose to validate the compose file (CI installs it)")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("")  # the file the services read; empty is enough here
    environment = {key: value for key, value in os.environ.items() if key != "DB_PASSWORD"}
    if db_password:
        environment["DB_PASSWORD"] = db_password
    return subprocess.run(
        ["docker-compose", *args], cwd=tmp_path, env=environment,
        capture_output=True, text=True, timeout=60,
    )


def test_the_compose_file_is_valid(tmp_path):
    result = compose(tmp_path, "config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"db", "web", "worker"}
    config = compose(tmp_path, "config").stdout
    # The app reaches the database service, and only the machine itself
    # (its reverse proxy) reaches the web port.
    assert "mysql://crm:a-long-database-password@db:3306/crm" in config
    assert re.findall(r"^\s*- (\S+:\d+/tcp)$", config, re.MULTILINE) == ["127.0.0.1:8000:8000/tcp"]



def test_compose_trusts_one_proxy_and_keeps_backups_in_a_volume(tmp_path):
    config = compose(tmp_path, "config").stdout
    web = config[config.index("\n  web:"):config.index("\n  worker:")]
    # Behind Docker's bridge every client has the same address: the login
    # lockout needs the one the reverse proxy appends to X-Forwarded-For.
    assert re.search(r"TRUSTED_PROXY_COUNT: '1'", web), web
    assert re.search(r"BEHIND_TLS_PROXY: '1'", web)
    assert re.search(r"source: backups\n\s+target: /data/backups", web) or \
        "backups:/data/backups" in web, web


def test_the_compose_file_refuses_to_start_without_a_database_password(tmp_path):
    result = compose(tmp_path, "config", db_password=None)
    assert result.returncode != 0
    assert "set DB_PASSWORD in .env" in result.stderr
