"""Django settings, read from the environment only.

REDRESS_ENV selects the profile: "development" (the default: SQLite, tasks
in-process, generated secrets kept in var/) or "production" (every secret must
be given, or start-up fails). Everything else is an environment variable with
a safe default; see docs/configuration.md.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import envbool, envint, envlist, envsecret, envstr

# Lets classes like ModelAdmin[Case] be subscripted at run time, as the type stubs allow.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("REDRESS_VAR_DIR", str(BASE_DIR / "var")))

REDRESS_ENV = envstr("REDRESS_ENV", "development")
if REDRESS_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"REDRESS_ENV must be development or production, got {REDRESS_ENV!r}")
PRODUCTION = REDRESS_ENV == "production"


def _dev_secrets() -> dict[str, str]:
    """Generate development secrets once and keep them in var/, never in git.

    A fresh key per process would make every encrypted field unreadable after
    a restart, so the generated values are persisted beside the SQLite file.
    """
    from cryptography.fernet import Fernet

    path = VAR_DIR / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    values = {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _secret(name: str) -> str:
    value = envsecret(name)
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when REDRESS_ENV=production")
    return _dev_secrets()[name]


SECRET_KEY = _secret("SECRET_KEY")
# Fernet keys, comma-separated; the first encrypts, all decrypt. Rotate by
# prepending a new key, running `manage.py rotate_encryption_keys`, then
# dropping the old one.
FIELD_ENCRYPTION_KEYS = [k.strip() for k in _secret("FIELD_ENCRYPTION_KEYS").split(",") if k.strip()]

DEBUG = envbool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when REDRESS_ENV=production")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when REDRESS_ENV=production")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "csp",
    "redress",
    "cases",
    "hashing.apps.HashingConfig",
    "monitoring",
    "notices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "redress.csrf.NoReferrerCsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "redress.middleware.PrivacyHeadersMiddleware",
]

# Django's deploy checks recognise only its own CSRF middleware by path; ours
# subclasses it (redress/csrf.py), so redress.checks checks it instead.
SILENCED_SYSTEM_CHECKS = ["security.W003"]

ROOT_URLCONF = "redress.urls"
WSGI_APPLICATION = "redress.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "redress.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Concurrent writers (web + an in-process task) wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cases-list-cases"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Nothing is ever written to MEDIA_ROOT; it is defined so tests can prove it.
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- Uploads: memory only, never a temporary file --------------------------
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = ["hashing.uploads.MemoryOnlyUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Decompression bombs: refuse images with more pixels than this before decoding.
HASHING_MAX_PIXELS = envint("HASHING_MAX_PIXELS", 64_000_000)

# --- Security ---------------------------------------------------------------
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
# The header alone commits to nothing until the domain is submitted to the
# browsers' preload list; operators on a shared parent domain can turn it off.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
if envbool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Only our own origin: no CDN, fonts or analytics, ever.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
    }
}

# Where the quick-exit control sends the person: a neutral, common page.
QUICK_EXIT_URL = envstr("QUICK_EXIT_URL", "https://www.bbc.com/weather")

# --- Server-side fetching ---------------------------------------------------
# Tests serve pages on 127.0.0.1; production must never reach loopback.
FETCH_ALLOW_LOOPBACK = envbool("FETCH_ALLOW_LOOPBACK", default=False)
if PRODUCTION and FETCH_ALLOW_LOOPBACK:
    raise ImproperlyConfigured("FETCH_ALLOW_LOOPBACK must not be set when REDRESS_ENV=production")
FETCH_MAX_BYTES = envint("FETCH_MAX_BYTES", 20 * 1024 * 1024)
FETCH_CONNECT_TIMEOUT = envint("FETCH_CONNECT_TIMEOUT", 10)
FETCH_TOTAL_TIMEOUT = envint("FETCH_TOTAL_TIMEOUT", 30)
# Content match: how many media candidates a check examines, how much of a
# page it parses, and the most time one check may take (below the broker's
# visibility timeout, so a slow page never causes a redelivery).
CHECK_MAX_CANDIDATES = envint("CHECK_MAX_CANDIDATES", 20)
CHECK_MAX_HTML_BYTES = envint("CHECK_MAX_HTML_BYTES", 1024 * 1024)
CHECK_MAX_SECONDS = envint("CHECK_MAX_SECONDS", 120)
FETCH_USER_AGENT = envstr("FETCH_USER_AGENT", "Mozilla/5.0 (compatible; link-check/1.0)")

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL")
# No broker: run tasks eagerly, in-process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Without a broker, tasks run on this many in-process threads so requests do
# not wait for them (redress/tasks.py); 0 runs them inline (the tests do).
INPROCESS_TASK_THREADS = envint("INPROCESS_TASK_THREADS", 2)
# Redis redelivers a task whose worker died once this many seconds pass; longer
# than any task runs, short enough that a crash delays a check by minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 900)}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Re-check schedule (monitoring/schedule.py) ------------------------------
# Run by `make beat`: every RECHECK_EVERY_SECONDS, queue the checks that are due.
RECHECK_EVERY_SECONDS = envint("RECHECK_EVERY_SECONDS", 300)
RECHECK_REMOVED_DAYS = envint("RECHECK_REMOVED_DAYS", 7)
RECHECK_REAPPEARED_HOURS = envint("RECHECK_REAPPEARED_HOURS", 24)
# After n consecutive errors, wait CHECK_BACKOFF_MINUTES * 2**(n-1), at most the max.
CHECK_BACKOFF_MINUTES = envint("CHECK_BACKOFF_MINUTES", 30)
CHECK_BACKOFF_MAX_MINUTES = envint("CHECK_BACKOFF_MAX_MINUTES", 24 * 60)
# Per registrable domain; what exceeds it waits for the next run.
CHECK_PER_HOST_PER_MINUTE = envint("CHECK_PER_HOST_PER_MINUTE", 6)
# A queued check whose result never lands (a lost task) is queued again after this.
CHECK_CLAIM_MINUTES = envint("CHECK_CLAIM_MINUTES", 60)
CELERY_BEAT_SCHEDULE = {
    "recheck-due": {
        "task": "monitoring.tasks.recheck_due",
        "schedule": RECHECK_EVERY_SECONDS,
        # A run still waiting when the next is due is dropped, not stacked.
        "options": {"expires": RECHECK_EVERY_SECONDS},
    },
}

# --- REST framework ---------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "redress.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Redress API",
    "DESCRIPTION": "Cases, media hashes (never media), reported URLs and takedown notices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "redress@localhost")

# --- Logging ----------------------------------------------------------------
LOG_FILE = envstr("LOG_FILE")
LOG_LEVEL = envstr("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        **({"file": {"class": "logging.FileHandler", "filename": LOG_FILE, "formatter": "plain"}} if LOG_FILE else {}),
    },
    "root": {"handlers": ["console", *(["file"] if LOG_FILE else [])], "level": LOG_LEVEL},
    # WeasyPrint and fontTools narrate every PDF step at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
