"""Settings of the example project: a demo site, not a production template.

Environment variables:

- ``DATABASE_URL``: any URL dj-database-url reads; SQLite file ``example_project/db.sqlite3`` when unset.
- ``EMAIL_FILE_PATH``: a folder; mail is written there as files instead of printed to the console.
- ``DJANGO_DEBUG``: ``0``/``false``/``no``/``off`` turns debug off (on by default: it is a demo).
- ``DJANGO_SECRET_KEY``: the secret key. Required when debug is off: the fallback below is published in
  this file, and anyone who knows a site's key can forge its sessions and JWTs. With debug on the
  fallback serves the demo.
- ``DJANGO_ALLOWED_HOSTS``: comma-separated host names when debug is off (default: localhost only).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = (os.environ.get("DJANGO_DEBUG") or "1").strip().lower() not in {"0", "false", "no", "off"}
#: Public, so fit only for a demo served with debug on (``manage.py demo``).
DEMO_SECRET_KEY = "django-insecure-example-project-demo-only-never-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip() or (DEMO_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in {"", DEMO_SECRET_KEY}:
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to run the example project with DJANGO_DEBUG off: the demo's fallback key is "
        "published in its source, so anyone could forge this site's sessions and JWTs. Make one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
if DEBUG:
    ALLOWED_HOSTS = ["*"]
else:
    ALLOWED_HOSTS = [
        host.strip()
        for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
        if host.strip()
    ]

HAS_DRF_SPECTACULAR = importlib.util.find_spec("drf_spectacular") is not None
#: Swagger UI's own files, served by the site: /api/docs/ works offline (the ``example`` extra installs it).
HAS_SPECTACULAR_SIDECAR = HAS_DRF_SPECTACULAR and importlib.util.find_spec("drf_spectacular_sidecar") is not None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Before django_convites: its templates/django_convites/base.html puts the app's pages in the demo's frame.
    "demo",
    "django_convites",
]
if HAS_DRF_SPECTACULAR:
    INSTALLED_APPS.append("drf_spectacular")
if HAS_SPECTACULAR_SIDECAR:
    INSTALLED_APPS.append("drf_spectacular_sidecar")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp marks request.user as verified (or not) by a second factor; it must follow authentication.
    "django_otp.middleware.OTPMiddleware",
    # Session users with a device must pass /tokens/verificar-2fa/ first (and roles named in
    # DJANGO_CONVITES["TWO_FACTOR_REQUIRED_ROLES"] must enrol); it must follow django-otp's.
    "django_convites.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Parallel requests on SQLite (docs/quickstart.rst, "SQLite"): readers never wait for the writer (WAL);
    # a transaction takes the write lock when it begins (IMMEDIATE), so two transactions never both read
    # and then both ask to write, which SQLite refuses at once; and a writer waits up to 20 s for the lock.
    # A lock held longer is 503 database_busy with Retry-After. Options in DATABASE_URL (?timeout=5) win.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The app's throttles count in the default cache. A local-memory cache would count per process, so N
# server processes would allow N times every rate (check django_convites.W004); the database cache is
# shared by every process that shares the database. Its table comes with migrate (demo migration 0003).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "demo_cache"}}

# Django's four validators, as a real site has them: a sign-up with an invite (the accept page, or
# POST /api/tokens/<ref>/registrar/) with "12345" is refused. The demo users' own password (demo12345) is
# set by demo_data, which does not run the validators.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

if os.environ.get("EMAIL_FILE_PATH"):
    _MAILER = {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": os.environ["EMAIL_FILE_PATH"]},
    }
else:
    _MAILER = {"BACKEND": "django.core.mail.backends.console.EmailBackend", "OPTIONS": {}}
if django.VERSION >= (6, 1):
    # Django 6.1 names its mail backends in MAILERS and deprecates EMAIL_BACKEND.
    MAILERS = {"default": _MAILER}
else:
    EMAIL_BACKEND = _MAILER["BACKEND"]
    EMAIL_FILE_PATH = _MAILER["OPTIONS"].get("file_path")
DEFAULT_FROM_EMAIL = "convites@example.com"

REST_FRAMEWORK = {
    # Bearer credentials (API tokens, and JWT access tokens once they ship) first, so a request without
    # credentials gets 401 with WWW-Authenticate; session authentication serves the browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_convites.api.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # The app's own {"detail", "code"} error shape, for the site's own API views too.
    "EXCEPTION_HANDLER": "django_convites.api.exceptions.exception_handler",
}
if HAS_DRF_SPECTACULAR:
    REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
    SPECTACULAR_SETTINGS: dict[str, object] = {
        "TITLE": "django-convites example project",
        "DESCRIPTION": "Invites, API tokens, JWT sessions, two-factor authentication and audit log.",
        "SERVE_INCLUDE_SCHEMA": False,
        # No call to swagger.io's online validator: the page works offline and sends the schema nowhere.
        "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    }
    if HAS_SPECTACULAR_SIDECAR:
        # Swagger UI and Redoc from the site's static files instead of a CDN.
        SPECTACULAR_SETTINGS.update(SWAGGER_UI_DIST="SIDECAR", SWAGGER_UI_FAVICON_HREF="SIDECAR", REDOC_DIST="SIDECAR")

# Every key has a safe default; `manage.py check` explains a bad value. The keys are listed in the
# configuration reference of the docs. The demo names its own organization and nucleus models.
DJANGO_CONVITES: dict[str, object] = {
    "ORGANIZATION_MODEL": "demo.Organizacao",
    "NUCLEUS_MODEL": "demo.Nucleo",
    "NUCLEUS_ORGANIZATION_FIELD": "organizacao",
    # Where the accept page's sign-up sends the new member: the home page, which lists their organizations.
    "SIGNUP_REDIRECT_URL": "home",
    # The name authenticator apps show beside the demo's codes (default: the host name of the request).
    "TOTP_ISSUER": "django-convites demo",
    # The demo's webhook receiver runs on this machine: loopback and private URLs are allowed here only.
    "WEBHOOK_ALLOW_PRIVATE_URLS": True,
}

# One webhook endpoint when the environment names it (docs/webhooks.rst); `manage.py convites_deliver_webhooks
# --loop` delivers to it. CONVITES_WEBHOOK_EVENTOS: the events it wants, comma-separated (default: all).
if os.environ.get("CONVITES_WEBHOOK_URL"):
    _webhook: dict[str, object] = {
        "url": os.environ["CONVITES_WEBHOOK_URL"].strip(),
        "secret": os.environ.get("CONVITES_WEBHOOK_SECRET", "").strip(),
    }
    if os.environ.get("CONVITES_WEBHOOK_EVENTOS", "").strip():
        _webhook["eventos"] = [
            name.strip() for name in os.environ["CONVITES_WEBHOOK_EVENTOS"].split(",") if name.strip()
        ]
    DJANGO_CONVITES["WEBHOOKS"] = [_webhook]

# django-otp's admin would otherwise show every TOTP seed and its QR code (check django_convites.W003).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
