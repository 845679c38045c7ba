"""Test settings: the real settings, with test-only defaults for secrets."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-used-anywhere-else")
# The suite runs on its own settings, not on a developer's local .env.
os.environ["ENV_FILE"] = ""

from project.settings import *  # noqa: E402, F403

# No collectstatic in tests: serve the files as they are.
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests; nothing to scan at start
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
# WhatsApp: in memory and without the ban-safety limits, unless a test sets them.
WHATSAPP_BACKEND = "crm.whatsapp.gateway.MemoryBackend"
WHATSAPP_RATE_PER_MINUTE = 0
WHATSAPP_JITTER_SECONDS = 0
WHATSAPP_DAILY_CAP = 0
WHATSAPP_SENDING_HOURS = ""
KIRIMWA_WEBHOOK_TOKEN = "webhook-secret-for-tests"
