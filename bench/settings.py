"""Settings for the changelist benchmark (bench/changelist.py).

The real settings, run the way production runs them (DEBUG off), with the
bench-only URLconf that mounts the stock-admin baseline next to ours.
"""

import os
import warnings

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-anywhere-else")
# Production-like, whatever a developer's .env says (DEBUG=1 there).
os.environ.setdefault("ENV_FILE", "")
# bench/changelist.py always sets DATABASE_URL itself (--database-url).
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/crm_bench")

from project.settings import *  # noqa: E402, F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
# No collectstatic for a benchmark: the manifest storage would fail on a
# missing manifest, and serving static files is not what is measured.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The test client speaks plain HTTP; in production TLS ends before Django.
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    **LOGGING,  # noqa: F405
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# WhiteNoise warns that STATIC_ROOT does not exist (no collectstatic here).
warnings.filterwarnings("ignore", message="No directory at")
