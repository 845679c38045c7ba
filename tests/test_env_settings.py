"""project/settings.py read from the environment as Docker compose passes it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET = "a-long-random-production-key-0123456789-abcdefghijklmnop"
# Every variable the settings read (ENV_FILE aside: an empty one means "no file").
SETTINGS_KEYS = sorted(
    set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', (PROJECT_ROOT / "project/settings.py")
                   .read_text()))
)
# What the README's deploy section tells the user to fill in .env.
FILLED_IN = {
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "crm.example.id",
    "CSRF_TRUSTED_ORIGINS": "https://crm.example.id",
    "DB_PASSWORD": "a-database-password",
}
# docker-compose.yml's web service sets these besides the file (DATABASE_URL
# too, for MariaDB; the settings only parse it, SQLite keeps the test offline).
COMPOSE_WEB = {"LOG_FORMAT": "json", "BEHIND_TLS_PROXY": "1", "WEB_CONCURRENCY": "4"}

DUMP = """
import json
import django
from django.conf import settings
django.setup()
values = {}
for name in dir(settings):
    if name.isupper():
        text = repr(getattr(settings, name))
        if " at 0x" not in text:  # lazy translations and the like
            values[name] = text
print(json.dumps(values))
"""


def compose_env_file(path):
    """The variables compose's env_file gives the container: `KEY=` as ""."""
    variables = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _sep, value = line.partition("=")
            variables[key.strip()] = value
    return variables


def run(args, variables):
    environment = {
        key: value for key, value in os.environ.items()
        if key not in {*SETTINGS_KEYS, "DJANGO_SETTINGS_MODULE", "ENV_FILE"}
    }
    # Not the developer's .env: the image has none.
    environment.update({"ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "project.settings",
                        **variables})
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=environment,
        capture_output=True, text=True, timeout=120,
    )


def settings_with(variables):
    result = run(["-c", DUMP], variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def example_as_compose_passes_it():
    return {**compose_env_file(PROJECT_ROOT / ".env.example"), **FILLED_IN, **COMPOSE_WEB}


def test_the_example_file_leaves_only_the_values_to_fill_in_empty():
    empty = {key for key, value in compose_env_file(PROJECT_ROOT / ".env.example").items()
             if value == ""}
    assert empty == {
        "SECRET_KEY", "CSRF_TRUSTED_ORIGINS", "DB_PASSWORD",
        "KIRIMWA_API_TOKEN", "KIRIMWA_DEVICE_ID", "KIRIMWA_WEBHOOK_TOKEN",
    }


def test_the_example_file_as_compose_passes_it_gives_the_production_defaults():
    values = settings_with(example_as_compose_passes_it())
    assert values["DEBUG"] == "False"
    assert values["SECURE_SSL_REDIRECT"] == "True"
    assert values["SECURE_HSTS_SECONDS"] == "31536000"
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] == "True"
    assert values["SECURE_HSTS_PRELOAD"] == "True"
    assert values["SESSION_COOKIE_SECURE"] == values["CSRF_COOKIE_SECURE"] == "True"
    assert "django.db.backends.sqlite3" in values["DATABASES"]
    assert values["WHATSAPP_SENDING_HOURS"] == "'08:00-21:00'"
    assert values["KIRIMWA_WEBHOOK_TOKEN"] == "''"
    assert values["ALLOWED_HOSTS"] == "['crm.example.id']"


def test_the_deployment_checks_pass_with_the_example_file_filled_in():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 example_as_compose_passes_it())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout


def test_an_empty_value_means_the_default_for_every_key():
    assert {"SECURE_HSTS_SECONDS", "DATABASE_URL", "WHATSAPP_SENDING_HOURS"} <= set(
        SETTINGS_KEYS)
    unset = settings_with({"SECRET_KEY": SECRET})
    empty = settings_with({
        **{key: "" for key in SETTINGS_KEYS}, "SECRET_KEY": SECRET,
        # Whitespace alone is empty too.
        "SECURE_SSL_REDIRECT": " ",
    })
    differing = {key for key in unset if unset[key] != empty[key]}
    assert differing == set()


def test_an_empty_value_does_not_hide_the_env_files(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("WHATSAPP_DAILY_CAP=7\n")
    values = settings_with({
        "SECRET_KEY": SECRET, "WHATSAPP_DAILY_CAP": "", "ENV_FILE": str(env_file)})
    assert values["WHATSAPP_DAILY_CAP"] == "7"


def test_any_sending_hours_are_said_with_any():
    values = settings_with({"SECRET_KEY": SECRET, "WHATSAPP_SENDING_HOURS": "any"})
    assert values["WHATSAPP_SENDING_HOURS"] == "''"


def test_a_variable_that_is_not_empty_still_wins():
    values = settings_with({"SECRET_KEY": SECRET, "SECURE_SSL_REDIRECT": "0",
                            "SECURE_HSTS_SECONDS": "60"})
    assert values["SECURE_SSL_REDIRECT"] == "False"
    assert values["SECURE_HSTS_SECONDS"] == "60"
