import os
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    environment = {
        key: value for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG"}
    }
    environment.update({"ENV_FILE": "", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_the_system_checks_pass():
    call_command("check", fail_level="WARNING")


def test_the_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_deployment_checks_pass_in_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY="a-long-random-production-key-" + "x" * 40,
        ALLOWED_HOSTS="crm.example.id",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_runs_without_a_secret_key():
    result = run_manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr
