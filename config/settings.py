"""Settings for Yishiting: one module, driven by environment variables.

`DATABASE_URL` picks the database (a SQLite file under the project by default),
`YISHITING_DEBUG`, `YISHITING_SECRET_KEY`, `YISHITING_MEDIA_ROOT`, `YISHITING_DEMO` and
`REDIS_URL` tune the rest. docs/settings.md documents every one of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("YISHITING_DATA_DIR", BASE_DIR / "var"))
(DATA_DIR / "static").mkdir(parents=True, exist_ok=True)

DEFAULT_SECRET_KEY = "insecure-default-key-change-me"
# An empty key counts as unset: `yishiting serve` refuses it with DEBUG off.
SECRET_KEY = os.environ.get("YISHITING_SECRET_KEY") or DEFAULT_SECRET_KEY
DEBUG = os.environ.get("YISHITING_DEBUG", "1") == "1"
# Demo mode: demo accounts share the documented password and the home page lists them.
DEMO = os.environ.get("YISHITING_DEMO", "0") == "1"
ALLOWED_HOSTS = os.environ.get("YISHITING_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "channels",
    "ninja",
    "yishiting.core",
    "yishiting.orgs",
    "yishiting.requests",
    "yishiting.api",
    "yishiting.demo",
    "yishiting.routing",
    "yishiting.stats",
    "yishiting.open311",
    "yishiting.ledger",
    "yishiting.notify",
    "yishiting.web",
    "yishiting.deliberation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "yishiting.core.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "yishiting.core.middleware.RefuseNulMiddleware",
    "yishiting.core.middleware.RefuseBadInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "yishiting.core.ratelimit.RateLimitMiddleware",
    "yishiting.orgs.config.OneStampMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


_ON_PG = (os.environ.get("DATABASE_URL") or "").startswith(("postgres", "pgsql"))
# Threads of the deadline sweep (requests/sweep.py): several on PostgreSQL, where actions on
# different requests run side by side; one on SQLite, where every write takes the one lock.
SWEEP_THREADS = max(1, int(os.environ.get("YISHITING_SWEEP_THREADS") or (4 if _ON_PG else 1)))
# Threads of the task worker (core/background.py), each taking one task at a time: two on
# PostgreSQL (at full size on two cores one fell behind and four starved the sweep's threads,
# docs/proof.md), one on SQLite (each takes the one write lock to fetch a task).
TASK_THREADS = max(1, int(os.environ.get("YISHITING_TASK_THREADS") or (2 if _ON_PG else 1)))


def _database() -> dict[str, Any]:
    """The default database from DATABASE_URL, with SQLite tuned for concurrent writers."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'yishiting.sqlite3'}"
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # Django's backend, with connections kept for reuse (yishiting/core/sqlite/base.py).
        db["ENGINE"] = "yishiting.core.sqlite"
        db["OPTIONS"] = {
            # IMMEDIATE: a writer takes the lock at BEGIN, so two writers queue instead of
            # failing with SQLITE_BUSY half-way through a transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        # A file (not :memory:) so tests see WAL and real locking; one per process so that
        # concurrent test runs do not share it.
        db["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
    if db["ENGINE"] == "django.db.backends.postgresql":
        options = db.setdefault("OPTIONS", {})
        # Parameters bound by the server rather than quoted into the text, so a statement has
        # one text whatever its values, and psycopg prepares it on a connection once it has
        # run there twice: PostgreSQL parses and plans it once per connection instead of on
        # every call (Django disables both by default, for transaction-mode PgBouncer: see
        # docs/deploy.md). Full-size load, PostgreSQL's CPU per run down by a quarter to a
        # third (docs/proof.md, session 16).
        options.update(server_side_binding=True, prepare_threshold=2)
        pool = int(os.environ.get("YISHITING_DB_POOL") or 0)
        if pool:
            # Open connections kept per process (a new PostgreSQL connection costs a backend
            # fork per request); with health checks each is checked before use, so a restarted
            # server fails no request with a dead connection.
            # The worker's threads each hold one at times: room for them all (servers use
            # fewer).
            size = max(pool, SWEEP_THREADS + TASK_THREADS + 2)
            options["pool"] = {"min_size": 1, "max_size": size, "timeout": 10}
            db["CONN_HEALTH_CHECKS"] = True
    return db


DATABASES = {"default": _database()}
# Requests one server process handles at once; the rest wait in its event loop (core/asgi.py).
HTTP_CONCURRENCY = int(os.environ.get("YISHITING_HTTP_CONCURRENCY") or 2)
# Server processes of `yishiting serve` (core/management/commands/serve.py); the sweep and the
# task worker run in their parent. Several need Redis or, without it, the local live bus.
SERVE_PROCESSES = max(1, int(os.environ.get("YISHITING_SERVE_PROCESSES") or 1))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "yishiting" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# Static files of the project itself (none yet; each app has its own static/).
STATICFILES_DIRS = [p for p in [BASE_DIR / "static"] if p.is_dir()]
# `make install` copies the npm libraries the pages serve (htmx) into var/vendor.
VENDOR_DIR = BASE_DIR / "var" / "vendor"
VENDOR_DIR.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS.append(VENDOR_DIR)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("YISHITING_MEDIA_ROOT", DATA_DIR / "media"))
# Largest accepted upload, and largest image in pixels (a decompression bomb is refused).
YISHITING_MAX_UPLOAD_BYTES = int(os.environ.get("YISHITING_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
YISHITING_MAX_IMAGE_PIXELS = int(os.environ.get("YISHITING_MAX_IMAGE_PIXELS", 40_000_000))
# Largest accepted voice message (语音留言): about four minutes of what phones record.
YISHITING_MAX_VOICE_BYTES = int(os.environ.get("YISHITING_MAX_VOICE_BYTES", 4 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/w/"
LOGOUT_REDIRECT_URL = "/"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("YISHITING_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Notifications (docs/robots.md): links in messages, retries, worker leases.
YISHITING_BASE_URL = os.environ.get("YISHITING_BASE_URL", "http://127.0.0.1:8000")
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("YISHITING_NOTIFY_MAX_ATTEMPTS", 12))
NOTIFY_RETRY_SECONDS = float(os.environ.get("YISHITING_NOTIFY_RETRY_SECONDS", 2))
NOTIFY_RETRY_MAX_SECONDS = float(os.environ.get("YISHITING_NOTIFY_RETRY_MAX_SECONDS", 600))
NOTIFY_LEASE_SECONDS = float(os.environ.get("YISHITING_NOTIFY_LEASE_SECONDS", 60))

REDIS_URL = os.environ.get("REDIS_URL", "")


def channel_layers(redis_url: str, bus: Path | None = None) -> dict[str, Any]:
    """Live pages' channel layer: in process memory; Redis's pub/sub when several processes
    serve and Redis is there; else, for several `yishiting serve` processes on one machine,
    in memory with group sends shared over Unix sockets in `bus` (both in core/livebus.py).

    Pub/sub rather than channels-redis's list-based layer: a group send is one PUBLISH rather
    than a script writing to every member's list (about a fifth of a loaded server's time,
    docs/proof.md), and each process keeps its pages' groups itself and subscribes again when
    Redis comes back, where the list-based layer keeps them in Redis and a restarted Redis
    forgets every page (web/tests/test_live_redis.py)."""
    if redis_url:
        return {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [{"address": redis_url}]},
            }
        }
    if bus is not None:
        return {
            "default": {
                "BACKEND": "yishiting.core.livebus.LocalBusLayer",
                "CONFIG": {"path": str(bus)},
            }
        }
    return {"default": {"BACKEND": "yishiting.core.livebus.MemoryLayer"}}


CHANNEL_LAYERS = channel_layers(REDIS_URL, DATA_DIR / "live" if SERVE_PROCESSES > 1 else None)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"yishiting": {"handlers": ["console"], "level": "INFO"}},
}
WHITENOISE_USE_FINDERS = True

# Open311 discovery's `contact` (docs/open311.md).
OPEN311_CONTACT = os.environ.get("YISHITING_OPEN311_CONTACT", "")

# Rate limits on log-in and public submission (docs/security.md): COUNT/SECONDS, 0 = none.
YISHITING_RATELIMIT = os.environ.get("YISHITING_RATELIMIT", "1") == "1"
YISHITING_LOGIN_LIMIT_USER = os.environ.get("YISHITING_LOGIN_LIMIT_USER", "5/300")
YISHITING_LOGIN_LIMIT_IP = os.environ.get("YISHITING_LOGIN_LIMIT_IP", "20/300")
YISHITING_SUBMIT_LIMIT_IP = os.environ.get("YISHITING_SUBMIT_LIMIT_IP", "20/3600")
YISHITING_SUBMIT_LIMIT_HALL = os.environ.get("YISHITING_SUBMIT_LIMIT_HALL", "60/3600")
# Behind nginx (deploy/): trust its X-Forwarded-For and X-Forwarded-Proto headers.
YISHITING_BEHIND_PROXY = os.environ.get("YISHITING_BEHIND_PROXY", "0") == "1"
# Where the rate-limit counters live: memory (one process), redis (REDIS_URL) or database.
_RATELIMIT_CACHE = os.environ.get(
    "YISHITING_RATELIMIT_CACHE",
    "redis" if REDIS_URL else "memory" if SERVE_PROCESSES == 1 else "database",
)
CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "memory": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "ratelimit",
        },
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        "database": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "yishiting_cache",
        },
    }[_RATELIMIT_CACHE],
}

# Secure headers (docs/security.md; yishiting.core.security adds the CSP). HTTPS: set
# YISHITING_HTTPS=1 where people reach the site over https (cookies secure, HSTS).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # the pages send the token from the page, not the cookie
YISHITING_HTTPS = os.environ.get("YISHITING_HTTPS", "0") == "1"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = YISHITING_HTTPS
SECURE_HSTS_SECONDS = (
    int(os.environ.get("YISHITING_HSTS_SECONDS", 31_536_000)) if YISHITING_HTTPS else 0
)
if YISHITING_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [YISHITING_BASE_URL.rstrip("/")]
