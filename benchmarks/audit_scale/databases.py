"""The two PostgreSQL databases: creating and dropping them, and one Django settings naming both, with the
router that sends every query to the size being measured."""

from __future__ import annotations

import os
from typing import Any

PREFIX = "convites_bench_"
SMALL, LARGE = "default", "large"  # the database aliases: the small log and the large one
AUDIT_TABLE = "django_convites_auditevent"
WEBHOOK_SECRET = "benchmark-webhook-secret-0123456789"


def pg_params() -> dict[str, str]:
    return {
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
    }


def admin_connection() -> Any:
    import psycopg

    params = pg_params()
    return psycopg.connect(
        host=params["HOST"],
        port=params["PORT"],
        user=params["USER"],
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def recreate_databases(names: list[str]) -> None:
    with admin_connection() as connection:
        for name in names:
            assert name.startswith(PREFIX), name
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_databases(names: list[str]) -> None:
    with admin_connection() as connection:
        for name in names:
            assert name.startswith(PREFIX), name
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def size_label(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows >= 1000 and rows % 1000 == 0:
        return f"{rows // 1000}k"
    return str(rows)


class Route:
    """The database router: every read and write goes to :attr:`alias`, the size being measured."""

    alias = SMALL

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    db_for_write = db_for_read

    def allow_relation(self, *objects: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True


ROUTE = Route()


def configure(databases: dict[str, str], *, webhook_url: str | None = None) -> None:
    """Settings for ``databases`` (alias -> database name), all routed through :data:`ROUTE`."""
    import django
    from django.conf import settings

    base = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": None, **pg_params()}
    convites: dict[str, Any] = {}
    if webhook_url:
        convites = {
            "WEBHOOKS": [{"url": webhook_url, "secret": WEBHOOK_SECRET}],
            "WEBHOOK_ALLOW_PRIVATE_URLS": True,
        }
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        ROOT_URLCONF="benchmarks.audit_scale.urls",
        DATABASES={alias: {**base, "NAME": name} for alias, name in databases.items()},
        DATABASE_ROUTERS=[ROUTE],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "rest_framework",
            "django_otp",
            "django_otp.plugins.otp_totp",
            "django_convites",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["django_convites.api.authentication.BearerAuthentication"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "EXCEPTION_HANDLER": "django_convites.api.exceptions.exception_handler",
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DJANGO_CONVITES=convites,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        LOGGING_CONFIG=None,
    )
    django.setup()
