"""Settings, all read from the environment (see .env.example and README.md).

The defaults make `make run` work on a fresh machine: a SQLite file in the
project folder and the console WhatsApp backend. Production sets DATABASE_URL,
SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from collections.abc import MutableMapping
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent



class EmptyIsUnset(MutableMapping):
    """os.environ, where a variable set to an empty value reads as unset.

    Docker compose's env_file passes a `KEY=` line as "", and so does a shell's
    `KEY= command`: that must mean the default, not 0, False or a crash.
    """

    def __getitem__(self, key):
        value = os.environ[key]
        if not value.strip():
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        os.environ[key] = value

    def __delitem__(self, key):
        del os.environ[key]

    def __iter__(self):
        return (key for key, value in os.environ.items() if value.strip())

    def __len__(self):
        return sum(1 for _key in self)


class Env(environ.Env):
    ENVIRON = EmptyIsUnset()


env = Env()
# A local .env (written by `make run`) is a convenience; real environment
# variables win over it (an empty one counts as unset). The one key where
# empty means something: ENV_FILE="" reads no file (the tests do).
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Only ever used with DEBUG on, i.e. on a developer's machine.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG is off)."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif not DEBUG and (
    SECRET_KEY == DEVELOPMENT_SECRET_KEY
    # Django's startproject placeholder: it sits in public repositories.
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 40
    or len(set(SECRET_KEY)) < 5
):
    # A guessable key lets anyone forge sessions and password-reset links.
    raise ImproperlyConfigured(
        "SECRET_KEY is a placeholder or too short (DEBUG is off). Set a random one of "
        "at least 40 characters: "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # jazzmin must come before django.contrib.admin to override its templates.
    "jazzmin",
    "project.apps.CrmAdminConfig",  # django.contrib.admin with the dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "import_export",
    "django_tasks",
    "django_tasks_db",
    "simple_history",
    "crm",
    "crm.security.LoginProtectionConfig",  # django-axes, named for the admin menu
    "csp",
]

MIDDLEWARE = [
    # First: refuses a too-large request (413) before anything reads its body.
    "crm.middleware.RequestBodyLimitMiddleware",
    # Before the HTTPS redirect and anything that checks the Host header.
    "crm.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed for phones on mobile data: a 100-row list is 110 KB of
    # HTML and 10 KB gzipped (~1 ms). Below whitenoise, which serves its own
    # precompressed static files. Django pads each gzipped page with random
    # bytes and masks the CSRF token per response against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    # Adds the Content-Security-Policy header (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "crm.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the customer and opportunity history.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-level overrides of third-party templates (jazzmin's stale
        # import/export pages) live here so they win over the apps' own.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # utf8mb4: customer names carry emoji and non-Latin scripts.
            "charset": "utf8mb4",
            # Strict mode turns silent truncation into an error.
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            # Django's recommended level for MySQL; avoids gap-lock surprises.
            "isolation_level": "read committed",
        }
    )
    DATABASES["default"]["TEST"] = {
        "CHARSET": "utf8mb4",
        "COLLATION": "utf8mb4_unicode_ci",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Write-ahead log: pages and the worker keep reading while an
            # import or its undo writes (in the default rollback journal every
            # reader got "database is locked" for the whole write).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # A writer waits its turn, up to this many seconds, instead of
            # failing at once. IMMEDIATE takes the write lock when a
            # transaction starts: a deferred one that read first could not
            # wait for it, and failed when another write had committed meanwhile.
            "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
            "transaction_mode": "IMMEDIATE",
        }
    )
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "crm.auth_backends.ModelBackendWithOneQuery",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language, time, money -------------------------------------------------

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Jakarta"
USE_TZ = True

# --- Static files ---------------------------------------------------------

STATIC_URL = "static/"
# Where collectstatic puts the files (the production-install check uses a temporary one).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# jazzmin's base template asks for a folder ({% static 'vendor/bootswatch' %}),
# which has no manifest entry: strict, every admin page would be a 500 in
# production. Missing entries are served under their plain names instead.
WHITENOISE_MANIFEST_STRICT = False

# --- Background tasks -------------------------------------------------------

TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")
    }
}

# --- WhatsApp (KirimWA) ----------------------------------------------------

# Dotted path of the backend (crm.whatsapp.gateway.*Backend); empty: KirimWA
# when a token is set, else the console (prints messages: runs offline).
WHATSAPP_BACKEND = env.str("WHATSAPP_BACKEND", default="")
KIRIMWA_API_URL = env.str("KIRIMWA_API_URL", default="https://api.kirimwa.id/v1")
KIRIMWA_API_TOKEN = env.str("KIRIMWA_API_TOKEN", default="")
KIRIMWA_DEVICE_ID = env.str("KIRIMWA_DEVICE_ID", default="")
KIRIMWA_CONNECT_TIMEOUT = env.float("KIRIMWA_CONNECT_TIMEOUT", default=5)
KIRIMWA_READ_TIMEOUT = env.float("KIRIMWA_READ_TIMEOUT", default=20)
# The secret part of the webhook URL registered with KirimWA
# (/whatsapp/webhook/<token>/); empty: no webhook.
KIRIMWA_WEBHOOK_TOKEN = env.str("KIRIMWA_WEBHOOK_TOKEN", default="")
# Ban safety, shared by every worker: at most this many messages a minute
# (0: no limit), a random extra pause of up to WHATSAPP_JITTER_SECONDS
# between messages, a daily cap (0: none) and the local hours messages may
# go out ("any" in the environment: any time; "" here). Defaults are gentle,
# for a number paired to a phone.
WHATSAPP_RATE_PER_MINUTE = env.int("WHATSAPP_RATE_PER_MINUTE", default=6)
WHATSAPP_JITTER_SECONDS = env.float("WHATSAPP_JITTER_SECONDS", default=4)
WHATSAPP_DAILY_CAP = env.int("WHATSAPP_DAILY_CAP", default=100)
WHATSAPP_SENDING_HOURS = env.str("WHATSAPP_SENDING_HOURS", default="08:00-21:00")
if WHATSAPP_SENDING_HOURS.strip().lower() == "any":
    WHATSAPP_SENDING_HOURS = ""
# A message the gateway refused as temporary is retried after 1, 2, 4… minutes.
WHATSAPP_MAX_ATTEMPTS = env.int("WHATSAPP_MAX_ATTEMPTS", default=5)
WHATSAPP_RETRY_SECONDS = env.int("WHATSAPP_RETRY_SECONDS", default=60)
# Sending tasks started per batch: more only helps with the limits off.
WHATSAPP_SENDERS = env.int("WHATSAPP_SENDERS", default=1)
# Local time from which the day's payment reminders are queued (they still
# wait for WHATSAPP_SENDING_HOURS).
WHATSAPP_DAILY_JOBS_AT = env.str("WHATSAPP_DAILY_JOBS_AT", default="07:00")

# --- Caches ---------------------------------------------------------------

CACHES = {
    # Nothing shared lives in the default cache; per-process memory is enough.
    "default": env.cache_url("CACHE_URL", default="locmemcache://"),
    # Uploaded spreadsheets between the import preview and its confirmation,
    # in the database so every web process and machine sees them (table
    # created by migration crm 0008). A 10 MB file is ~13.5 MB stored: keep
    # MySQL's max_allowed_packet above that (MariaDB's default is 16 MB).
    # A file is removed once imported or refused; expired ones whenever
    # another is stored (crm.spreadsheets.purge_expired_uploads).
    "import_uploads": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "crm_import_upload",
        # A preview is confirmed within minutes; after two hours the user is
        # asked to upload the file again.
        "TIMEOUT": 2 * 60 * 60,
        # At most ~1.35 GB of previews waiting at once; past that Django
        # deletes a third of them (1,000 allowed ~13 GB).
        "OPTIONS": {"MAX_ENTRIES": 100},
    },
}

# --- Spreadsheet import and export (django-import-export) -----------------

IMPORT_EXPORT_TMP_STORAGE_CLASS = "crm.spreadsheets.SharedUploadStorage"

# Dedicated permissions: crm.import_customer, crm.export_customer.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_MAX_UPLOAD_MB = env.int("IMPORT_MAX_UPLOAD_MB", default=10)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# An .xlsx is zipped XML: a 100,000-row, 8-column sheet unpacks to 47 MB; a
# 1 MB zip bomb to 1 GB. Checked before the workbook is opened.
IMPORT_MAX_UNPACKED_MB = env.int("IMPORT_MAX_UNPACKED_MB", default=100)
# Reading a file stops after this long, with a sentence rather than
# gunicorn's kill at 60 s. A real 100,000-row, 8-column .xlsx took 20.5 s on
# 2 busy cores (openpyxl through defusedxml), 30+ s with a benchmark beside.
IMPORT_READ_SECONDS = env.int("IMPORT_READ_SECONDS", default=45)
# Confirmed imports (and undos) of more rows run in the task worker, with a
# progress page: 100,000 rows took 97 s, past the 60 s a request may last.
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=2_000)
# Uploads of more rows (counted roughly from the file) are previewed in the
# task worker too: reading and checking 100,000 rows took 23 s.
IMPORT_PREVIEW_BACKGROUND_ROWS = env.int("IMPORT_PREVIEW_BACKGROUND_ROWS", default=5_000)
# Django's default: form data besides files. It is also the body limit of
# every page but the import's (crm.middleware.RequestBodyLimitMiddleware),
# whose limit is IMPORT_MAX_UPLOAD_MB and a little.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Security ---------------------------------------------------------------

# Safe by default in production (DEBUG off); each switch can be turned off
# for a plain-HTTP install on a shop's local network.
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
# Behind a TLS-terminating reverse proxy, trust its X-Forwarded-Proto header.
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts, styles, images and fonts come
# from this site only, nothing may frame the site or receive its forms.
# jazzmin has a few fixed inline <script>s; its templates cannot carry a nonce,
# so each is allowed by the hash of its exact text (a test fails when a jazzmin
# upgrade changes one). Inline style="" attributes are all over jazzmin's
# templates and some matter (the actions bar's hidden "Clear selection"), so
# those alone are allowed, through style-src-attr: no <style> element, no
# stylesheet from elsewhere, and images only from here, so that injected CSS
# could neither load nor send anything.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [
            SELF,
            # jazzmin 3.0.5, admin/base.html and registration/base.html: colour mode.
            "'sha256-nLEB6J7sxmSsTqwuB/NEyb2atpyjTdtHdfLxmsXvCP8='",
            # admin/change_list.html: window.filterInputLength.
            "'sha256-F7GVayJMLy0KHikNUhjbBcBE0ax/V4knxuE9lJsuA6A='",
            # registration/password_change_form.html: marks required fields.
            "'sha256-DT/ci/z/ofx36DBKYq8ZBDQ2sgAnvO+SmuKGfcZ95UU='",
            # admin/auth/user/change_password.html: the same.
            "'sha256-OQlLsGYyiAVVwdHnkEraaS+8yfFm7rTeYMfelN7RwuE='",
        ],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Login protection (django-axes) -----------------------------------------

AXES_ENABLED = True
# Failed logins lock out a username *from one client IP*, not the username
# everywhere: otherwise anyone who knows or guesses the owner's username could
# keep the owner out just by failing on purpose. Nor by IP alone, which would
# lock a whole office, or everyone behind a mobile carrier's shared address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# 0 minutes: locked until the owner unlocks it in the admin.
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30)) or None
# A successful login forgets that user's earlier typos.
AXES_RESET_ON_SUCCESS = True
# The jazzmin login page with the reason, instead of axes' bare text.
AXES_LOCKOUT_CALLABLE = "crm.security.lockout_response"
# The client IP: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies
# the X-Forwarded-For entry added by the outermost of them. Entries left of
# it come from the client and are never trusted; nor is the header at all
# without proxies (anyone can send one, and pick a fresh "IP" per guess).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT > 0:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    # django-ipware counts the proxies *listed in* X-Forwarded-For; the nearest
    # proxy is REMOTE_ADDR and not in the header, hence one less.
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
    # Count from the right and skip what the client prepended, instead of
    # distrusting the whole header (and falling back to the proxy's address,
    # shared by everyone) when a client sent one of its own.
    IPWARE_STRICT = False
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# --- Admin (jazzmin) --------------------------------------------------------

LOGIN_URL = "admin:login"
# jazzmin's login form posts no "next", so without this a direct login lands
# on Django's default /accounts/profile/, which does not exist here.
LOGIN_REDIRECT_URL = "admin:index"

# The business's own name and logo, shown in the header, the login page, the
# browser's tab and the home-screen icon. BUSINESS_LOGO is a path among the
# static files (a square image; SVG or PNG).
BUSINESS_NAME = env.str("BUSINESS_NAME", default="CRM UMKM")
BUSINESS_LOGO = env.str("BUSINESS_LOGO", default="crm/icons/logo.svg")

JAZZMIN_SETTINGS = {
    "site_title": BUSINESS_NAME,
    "site_header": BUSINESS_NAME,
    "site_brand": BUSINESS_NAME,
    "site_logo": BUSINESS_LOGO,
    "login_logo": BUSINESS_LOGO,
    "site_icon": BUSINESS_LOGO,
    "site_logo_classes": "crm-logo",
    "welcome_sign": _("Sign in to your CRM"),
    "copyright": BUSINESS_NAME,
    # One search box in the header finds customers and deals (crm/search_views.py),
    # rather than jazzmin's box per model.
    "search_model": [],
    "language_chooser": True,
    "show_ui_builder": False,
    # Pages must not reach the internet: users are on flaky mobile data.
    "use_google_fonts_cdn": False,
    "order_with_respect_to": [
        "crm", "crm.customer", "crm.opportunity", "crm.message", "crm.messagebatch",
        "crm.messagetemplate", "auth",
    ],
    "custom_links": {
        "crm": [{
            "name": _("Pipeline board"),
            "url": "admin:crm_opportunity_board",
            "icon": "fas fa-columns",
            "permissions": ["crm.view_opportunity"],
        }],
    },
    "icons": {
        "auth": "fas fa-users-cog",
        "auth.user": "fas fa-user",
        "auth.Group": "fas fa-users",
        "axes": "fas fa-shield-alt",
        "axes.accessattempt": "fas fa-user-lock",
        "axes.accesslog": "fas fa-list",
        "axes.accessfailurelog": "fas fa-exclamation-triangle",
        "django_tasks_database": "fas fa-cogs",
        "django_tasks_database.dbtaskresult": "fas fa-tasks",
        "crm.customer": "fas fa-address-book",
        "crm.opportunity": "fas fa-funnel-dollar",
        # A solid icon: the brands font (115 KB) would be fetched for this one.
        "crm.message": "fas fa-comments",
        "crm.messagebatch": "fas fa-paper-plane",
        "crm.messagetemplate": "fas fa-file-alt",
        "crm.importrecord": "fas fa-file-import",
        "crm.deletedcustomer": "fas fa-trash-restore",
        "crm.notificationrule": "fas fa-bell",
    },
    # Technical pages (users, groups, login protection, background tasks) are
    # put together under "Settings", for the owner only, by our base template
    # (crm/templatetags/crm_shell.py): a shop owner's menu shows the business.
    "hide_apps": [],
    "changeform_format": "horizontal_tabs",
}
JAZZMIN_UI_TWEAKS = {
    "navbar_small_text": False,
    "theme": "default",
}

# --- Logging --------------------------------------------------------------

# Logs go to the console (stderr, which Docker collects, leaving stdout to
# commands' own output); LOG_FORMAT=json (the Docker image's default) writes
# one JSON object per line for log collectors.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "crm.logs.JSONFormatter"},
    },
    # The webhook's URL carries its token: masked in every line (crm/logs.py).
    "filters": {"mask_secrets": {"()": "crm.logs.MaskSecretsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="text"),
            "filters": ["mask_secrets"],
        }
    },
    "loggers": {
        # Without these, Django's own handlers (the development console, mail
        # to ADMINS, runserver's request lines) would write records unmasked.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": ["console"], "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
