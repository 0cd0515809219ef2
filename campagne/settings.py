"""Campagne's settings: one module, every value read from the environment.

See README.md ("Configuration") for the variables. Defaults give a working embedded
install (SQLite under var/, tasks in the same database); production sets DATABASE_URL,
SECRET_KEY, ALLOWED_HOSTS, EMAIL_URL and CAMPAGNE_BASE_URL.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor

from campagne.lib.env import env_bool, env_int, env_list, env_rates, env_str, parse_email_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CAMPAGNE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CAMPAGNE_BASE_URL = env_str("CAMPAGNE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Keyed hashes of erased people's e-mails and phones use their own key, so that rotating
# SECRET_KEY (sessions, signed links) does not let erased people back in.
CAMPAGNE_SUPPRESSION_KEY = env_str("CAMPAGNE_SUPPRESSION_KEY", SECRET_KEY)
CAMPAGNE_DEMO = env_bool("CAMPAGNE_DEMO", False)
# Map background tiles of the targeting map ({z}/{x}/{y}); empty for none. The map draws
# the stations' shapes and names without tiles (an offline machine, a blocked tile server).
MAP_TILES_URL = env_str("MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILES_ATTRIBUTION = env_str(
    "MAP_TILES_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
)
# CNIL: prospects who never answered are deleted after this many months (`campagne purge`).
CAMPAGNE_PROSPECT_RETENTION_MONTHS = env_int("CAMPAGNE_PROSPECT_RETENTION_MONTHS", 2)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    # Only for the Leaflet JS/CSS it ships as static files (the targeting map).
    "leaflet",
    # Serves the API docs' Swagger UI from our static files instead of a public CDN.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    # E-mail services' transports and signed bounce/complaint webhooks (mailings).
    "anymail",
    "axes",
    "campagne.core",
    "campagne.territory",
    "campagne.accounts",
    "campagne.audit",
    "campagne.people",
    "campagne.elections",
    "campagne.imports",
    "campagne.demo",
    "campagne.segments",
    "campagne.targeting",
    "campagne.mailing",
    "campagne.tracking",
    "campagne.canvassing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Turns django-ratelimit's Ratelimited exception into RATELIMIT_VIEW's 429 page.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # Last, so that it sees the outcome of authentication (django-axes' requirement).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "campagne.urls"
WSGI_APPLICATION = "campagne.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "campagne.core.context_processors.campagne",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'campagne.sqlite3'}")
try:
    # Connections are kept for a minute (and checked before reuse): opening one per
    # request cost as much as the whole work of a door record in the field app.
    _default_db = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    _default_db["OPTIONS"] = {
        # WAL lets the web server read while a worker writes; IMMEDIATE transactions take
        # the write lock up front instead of failing with "database is locked" on upgrade.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA mmap_size=268435456;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _default_db["TEST"] = {"NAME": env_str("CAMPAGNE_TEST_SQLITE", "") or None}
elif _default_db["ENGINE"] == "django.db.backends.postgresql":
    _default_db["ENGINE"] = "django.db.backends.postgresql"
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
MAGIC_LINK_MAX_AGE = env_int("MAGIC_LINK_MAX_AGE", 15 * 60)

# Failed logins: django-axes locks an (e-mail, IP) pair after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

# django-ratelimit: counts kept in the cache; the database cache is shared by every
# process of a deployment (the local-memory one would count per process).
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_VIEW = "campagne.core.views.rate_limited"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "campagne_cache",
        # Rate-limit counters live here; Django's default of 300 entries would cull
        # live counters (and so reset limits) as soon as a few hundred clients are seen.
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

# REST API rate limits (django-ninja throttles, counted in the same cache), per account
# ("600/m", "10000/d"; empty disables). Writes have a lower limit of their own on top.
API_RATE = env_str("API_RATE", "600/m") or None
API_WRITE_RATE = env_str("API_WRITE_RATE", "120/m") or None
API_ANON_RATE = env_str("API_ANON_RATE", "60/m") or None

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- E-mail -----------------------------------------------------------------------------
_email = parse_email_url(env_str("EMAIL_URL", "console://" if DEBUG else "smtp://localhost:25"))
# An e-mail service's EMAIL_URL (brevo://KEY, postmark://TOKEN…) gives anymail's settings.
ANYMAIL: dict[str, object] = _email.pop("ANYMAIL", {})  # type: ignore[assignment]
globals().update(_email)
# Basic auth ("user:password") that the e-mail services' webhooks must send to
# /webhooks/anymail/<service>/tracking/; without it those URLs refuse everything.
if env_str("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = env_str("ANYMAIL_WEBHOOK_SECRET")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Campagne <ne-pas-repondre@campagne.test>")
# Login links and welcome messages (campagne.mailing.transactional) through their own
# transport, same syntax as EMAIL_URL; empty: EMAIL_URL. Parsed now so a typo fails at start.
TRANSACTIONAL_EMAIL_URL = env_str("TRANSACTIONAL_EMAIL_URL")
if TRANSACTIONAL_EMAIL_URL:
    parse_email_url(TRANSACTIONAL_EMAIL_URL)

# Mailings (campagne.mailing): DKIM signing of SMTP sends when a key is given (PEM text in
# CAMPAGNE_DKIM_PRIVATE_KEY, or a file in CAMPAGNE_DKIM_KEY_FILE); the domain defaults to
# the sender's. Each send task keeps MAILING_SMTP_CONNECTIONS connections open in
# parallel; a claim older than MAILING_CLAIM_TIMEOUT seconds is a dead worker's.
CAMPAGNE_DKIM_PRIVATE_KEY = env_str("CAMPAGNE_DKIM_PRIVATE_KEY")
if not CAMPAGNE_DKIM_PRIVATE_KEY and env_str("CAMPAGNE_DKIM_KEY_FILE"):
    CAMPAGNE_DKIM_PRIVATE_KEY = Path(env_str("CAMPAGNE_DKIM_KEY_FILE")).read_text()
CAMPAGNE_DKIM_SELECTOR = env_str("CAMPAGNE_DKIM_SELECTOR", "campagne")
CAMPAGNE_DKIM_DOMAIN = env_str("CAMPAGNE_DKIM_DOMAIN")
MAILING_SMTP_CONNECTIONS = env_int("MAILING_SMTP_CONNECTIONS", 4)
MAILING_SEND_TASKS = env_int("MAILING_SEND_TASKS", 2)
MAILING_BATCH_SIZE = env_int("MAILING_BATCH_SIZE", 100)
MAILING_CLAIM_TIMEOUT = env_int("MAILING_CLAIM_TIMEOUT", 300)
MAILING_RETRY_SECONDS = env_int("MAILING_RETRY_SECONDS", 120)
MAILING_MAX_ATTEMPTS = env_int("MAILING_MAX_ATTEMPTS", 6)
# Send rates (messages per second, shared by every worker; 0/empty = unlimited): overall,
# and per receiving domain ("orange.fr=50,free.fr=30,…"; see docs/mailing.md).
MAILING_RATE_PER_SECOND = env_int("MAILING_RATE_PER_SECOND", 0)
MAILING_DOMAIN_RATES = env_rates("MAILING_DOMAIN_RATES")
# Frequency cap: people who got this many mailings in the last 7 days are left out of a
# new one (0 = no cap).
MAILING_WEEKLY_CAP = env_int("MAILING_WEEKLY_CAP", 0)

# Tracking (campagne.tracking, docs/mailing.md "Tracking"): the open pixel is on for new
# mailings unless MAILING_OPEN_PIXEL=0; opens and clicks within TRACKING_MACHINE_SECONDS of
# delivery, or from known proxies and scanners (plus TRACKING_MACHINE_AGENTS substrings and
# TRACKING_MACHINE_NETWORKS CIDRs), are a machine's. Hits are spooled to files under
# TRACKING_SPOOL_DIR and written in batches every TRACKING_FLUSH_MILLISECONDS (0: only by
# `campagne tracking flush`). Behind a proxy, TRACKING_CLIENT_IP_HEADER names the
# request.META key holding the client's address (e.g. HTTP_X_REAL_IP).
MAILING_OPEN_PIXEL = env_bool("MAILING_OPEN_PIXEL", True)
TRACKING_MACHINE_SECONDS = env_int("TRACKING_MACHINE_SECONDS", 5)
TRACKING_MACHINE_AGENTS = env_list("TRACKING_MACHINE_AGENTS", [])
TRACKING_MACHINE_NETWORKS = env_list("TRACKING_MACHINE_NETWORKS", [])
TRACKING_SPOOL_DIR = Path(env_str("TRACKING_SPOOL_DIR", str(VAR_DIR / "tracking")))
TRACKING_FLUSH_MILLISECONDS = env_int("TRACKING_FLUSH_MILLISECONDS", 500)
TRACKING_CLIENT_IP_HEADER = env_str("TRACKING_CLIENT_IP_HEADER", "REMOTE_ADDR")

# --- Background tasks -------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "imports", "mailing"],
    }
}
# `campagne worker` queues again the work of a killed worker (its heartbeat stopped): when
# it starts, then every this many seconds (campagne/core/recovery.py; 0: at start only).
CAMPAGNE_RECOVERY_INTERVAL = env_int("CAMPAGNE_RECOVERY_INTERVAL", 60)
# An import running with no chunk committed for this long has lost its worker.
CAMPAGNE_IMPORT_STALL_SECONDS = env_int("CAMPAGNE_IMPORT_STALL_SECONDS", 300)
# Background imports: rows per transaction (0: 50,000 on SQLite, 10,000 on PostgreSQL),
# and a pause between two transactions (ms) that leaves more room to the pages.
CAMPAGNE_IMPORT_CHUNK_SIZE = env_int("CAMPAGNE_IMPORT_CHUNK_SIZE", 0)
CAMPAGNE_IMPORT_PAUSE_MS = env_int("CAMPAGNE_IMPORT_PAUSE_MS", 0)

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "campagne" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (cacheable forever behind a CDN) need `collectstatic`, which
        # `campagne serve` runs; development and tests serve the files as they are.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = DEBUG
# Source maps are only fetched by developer tools: compressing them (brotli is slow on the
# multi-megabyte Swagger and ReDoc maps) made `campagne serve` start tens of seconds later.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    *Compressor.SKIP_COMPRESS_EXTENSIONS,
    "map",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Field work. Door records that look invented are flagged for an organizer to review:
# more than FIELD_MAX_DOORS_PER_MINUTE doors a minute by one volunteer; a turf of at least
# FIELD_GPS_MIN_DOORS doors all recorded within FIELD_GPS_SPOT_METRES of one spot; outcome
# rates more than FIELD_RATIO_Z standard errors from the campaign's, once a volunteer has
# FIELD_RATIO_MIN_DOORS doors (see docs/canvassing.md).
FIELD_MAX_DOORS_PER_MINUTE = env_int("FIELD_MAX_DOORS_PER_MINUTE", 6)
FIELD_GPS_MIN_DOORS = env_int("FIELD_GPS_MIN_DOORS", 10)
FIELD_GPS_SPOT_METRES = env_int("FIELD_GPS_SPOT_METRES", 30)
FIELD_RATIO_Z = env_int("FIELD_RATIO_Z", 4)
FIELD_RATIO_MIN_DOORS = env_int("FIELD_RATIO_MIN_DOORS", 30)
