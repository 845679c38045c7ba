"""Deployment checks of our own settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core import checks

WEBHOOK_TOKEN_MIN_LENGTH = 32
WEBHOOK_TOKEN_MIN_DISTINCT_CHARACTERS = 10


@checks.register(checks.Tags.security, deploy=True)
def check_webhook_token(app_configs, **kwargs):
    """The webhook URL's token is its only protection: it must not be guessable."""
    token = getattr(settings, "KIRIMWA_WEBHOOK_TOKEN", "")
    if not token:
        return []  # no webhook
    if (len(token) >= WEBHOOK_TOKEN_MIN_LENGTH
            and len(set(token)) >= WEBHOOK_TOKEN_MIN_DISTINCT_CHARACTERS):
        return []
    return [checks.Error(
        f"KIRIMWA_WEBHOOK_TOKEN is too easy to guess: it needs at least "
        f"{WEBHOOK_TOKEN_MIN_LENGTH} characters, {WEBHOOK_TOKEN_MIN_DISTINCT_CHARACTERS} of "
        f"them different. Anyone who guesses it can mark messages delivered or opt "
        f"customers out.",
        hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))' "
             "(or leave it empty to turn the webhook off).",
        id="crm.E001",
    )]
