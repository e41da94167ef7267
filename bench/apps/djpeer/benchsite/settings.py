# The Django peer, as in the team's shared harness; not type-checked or linted here.
"""Settings of the Django peer: Django + DRF + django-oauth-toolkit, as a Python user
would deploy it (DEBUG off, the startproject middleware, persistent DB connections).

BENCH_DB=sqlite (default) or postgres picks the database; see ../../README.md.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent  # apps/djpeer
BENCH_DIR = BASE_DIR.parent.parent  # bench/
VAR_DIR = Path(os.environ.get("BENCH_VAR_DIR", BENCH_DIR / "var"))


def _secret_key() -> str:
    # setup.sh writes a random key; nothing here is signed in the benchmark, but a
    # fixed key in a file is a habit not worth having even in a bench.
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    return (VAR_DIR / "django-secret-key").read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "oauth2_provider",
    "peerapi",
]

# The `startproject` default stack, less MessageMiddleware (no messages app).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "benchsite.urls"
WSGI_APPLICATION = "benchsite.wsgi.application"
ASGI_APPLICATION = "benchsite.asgi.application"
TEMPLATES: list = []

# Persistent connections suit the sync (WSGI) workers. Under ASGI, Django's docs say to
# turn them off (each request runs in a fresh thread, so they pile up) and to use the
# backend's pool instead: the ASGI peer sets BENCH_CONN_MAX_AGE=0 and BENCH_PG_POOL=1.
CONN_MAX_AGE = int(os.environ.get("BENCH_CONN_MAX_AGE", "600"))
PG_POOL = os.environ.get("BENCH_PG_POOL") == "1"
BENCH_DB = os.environ.get("BENCH_DB", "sqlite")

if BENCH_DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BENCH_PGDATABASE", "bench_dot"),
            "USER": os.environ.get("BENCH_PGUSER", "postgres"),
            "PASSWORD": os.environ.get("BENCH_PGPASSWORD", ""),
            "HOST": os.environ.get("BENCH_PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("BENCH_PGPORT", "5432"),
            "CONN_MAX_AGE": 0 if PG_POOL else CONN_MAX_AGE,
            "OPTIONS": {"pool": True} if PG_POOL else {},
        }
    }
elif BENCH_DB == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "dot.sqlite3",
            "CONN_MAX_AGE": CONN_MAX_AGE,
            # The settings Django's docs suggest for SQLite under concurrent writers.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
        }
    }
else:
    raise RuntimeError(f"BENCH_DB must be sqlite or postgres, not {BENCH_DB!r}")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

# Django's default hasher (PBKDF2-SHA256, 1,000,000 iterations in Django 5.2) is kept
# on purpose: it is what a user of this peer gets, and it dominates /o/token/ cost.

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "SCOPES": {"read": "Read", "write": "Write"},
}

# DOT logs a warning on every password-grant request (RFC 9700 deprecation); keep
# server logs quiet so logging is not part of what is measured.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"oauth2_provider": {"level": "ERROR"}},
}
