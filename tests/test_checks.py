"""`manage.py check --deploy` refuses a guessable webhook token."""

import secrets

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from crm.checks import check_webhook_token
from tests.test_project import run_manage

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-key-" + "x" * 40,
    "ALLOWED_HOSTS": "crm.example.id",
}


@pytest.mark.parametrize("token", ["abc", "webhook-secret-for-tests", "ab" * 20])
def test_it_refuses_a_short_or_repetitive_token(settings, token):
    settings.KIRIMWA_WEBHOOK_TOKEN = token
    [error] = check_webhook_token(None)
    assert error.id == "crm.E001"
    assert "secrets.token_urlsafe(32)" in error.hint


def test_it_accepts_a_generated_token_or_none(settings):
    settings.KIRIMWA_WEBHOOK_TOKEN = secrets.token_urlsafe(32)
    assert check_webhook_token(None) == []
    settings.KIRIMWA_WEBHOOK_TOKEN = ""  # no webhook
    assert check_webhook_token(None) == []


def test_check_deploy_fails_on_a_weak_token(settings):
    settings.KIRIMWA_WEBHOOK_TOKEN = "abc"
    with pytest.raises(SystemCheckError, match="KIRIMWA_WEBHOOK_TOKEN is too easy to guess"):
        call_command("check", deploy=True, tags=["security"])
    # Only with --deploy: development and tests may use any token.
    call_command("check", tags=["security"])


def test_check_deploy_in_production_settings_refuses_a_weak_token():
    result = run_manage("check", "--deploy", KIRIMWA_WEBHOOK_TOKEN="abc", **PRODUCTION)
    assert result.returncode != 0
    assert "crm.E001" in result.stderr
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        KIRIMWA_WEBHOOK_TOKEN=secrets.token_urlsafe(32), **PRODUCTION,
    )
    assert result.returncode == 0, result.stdout + result.stderr
