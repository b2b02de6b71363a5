"""The example project as the load run serves it: ``example_project.settings`` with PostgreSQL, Redis as the
cache, debug off, the load's three tiny views, and limits raised so the load is not refused.

The run sets the environment: ``DATABASE_URL`` (a database of its own), ``DJANGO_SECRET_KEY`` (made for the
run), ``DJANGO_DEBUG=0``, ``LOAD_REDIS_URL`` and ``LOAD_INVITES_PER_DAY``.

What differs from a production site, on purpose (``docs/deployment.rst``):

- The per-IP and per-user rates (login, login per username, invite validation, two-factor checks) are
  raised to ``1000000/minute``: locust sends everything from 127.0.0.1 and from a few users, which the real
  rates would refuse after a few requests. They are still counted, in Redis, on every request.
- The daily invite quota stays finite (``LOAD_INVITES_PER_DAY``, 40 by default) so that "no issuer over
  quota" is tested: the issuers run into it during the run.
- Access tokens last an hour (``ACCESS_TOKEN_LIFETIME``): the side-by-side's are made with the users, so
  that its runs measure requests and no logins.
- Passwords are hashed with PBKDF2 at 1,000 iterations instead of Django's default (over a million): a
  login, a sign-up and a two-factor login would otherwise measure PBKDF2 and nothing else.
"""

from __future__ import annotations

import os

from django.contrib.auth.hashers import PBKDF2PasswordHasher

os.environ.setdefault("DJANGO_DEBUG", "0")

from example_project.settings import *  # noqa: F403
from example_project.settings import DJANGO_CONVITES as _EXAMPLE_CONVITES
from example_project.settings import INSTALLED_APPS as _EXAMPLE_APPS
from example_project.settings import MIDDLEWARE as _EXAMPLE_MIDDLEWARE

DEBUG = False
ROOT_URLCONF = "benchmarks.load.urls"
INSTALLED_APPS = [*_EXAMPLE_APPS, "rest_framework.authtoken"]
# The statements of each request, in the X-Load-Queries header (benchmarks/load/middleware.py).
MIDDLEWARE = ["benchmarks.load.middleware.count_queries", *_EXAMPLE_MIDDLEWARE]

# One connection per worker process, kept between requests (docs/deployment.rst, "Database connections").
# No CONN_HEALTH_CHECKS: it costs a SELECT 1 at the start of every request that uses the database.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405

# ``--pgbouncer``: DATABASE_URL names PgBouncer in transaction pooling mode (docs/deployment.rst, "PgBouncer"):
# no server-side cursors, and no prepared statements (PgBouncer before 1.21 cannot route them).
if os.environ.get("LOAD_PGBOUNCER"):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True  # noqa: F405
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "prepare_threshold": None}  # noqa: F405

# Every worker counts the throttles in one Redis (atomic INCR), as a multi-process site must.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": os.environ.get("LOAD_CACHE_PREFIX", "convites-load"),
    }
}


class LoadPasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 at 1,000 iterations: see the module's docstring."""

    algorithm = "pbkdf2_sha256_load"
    iterations = 1_000


PASSWORD_HASHERS = ["benchmarks.load.settings.LoadPasswordHasher"]

_UNLIMITED = "1000000/minute"
DJANGO_CONVITES = {
    **_EXAMPLE_CONVITES,
    "INVITES_PER_DAY": int(os.environ.get("LOAD_INVITES_PER_DAY", "40")),
    "INVITE_VALIDATION_RATE": _UNLIMITED,
    "LOGIN_RATE": _UNLIMITED,
    "LOGIN_USERNAME_RATE": _UNLIMITED,
    "TWO_FACTOR_RATE": _UNLIMITED,
    # The side-by-side's JWTs are made with the users, before the run: they must outlast it.
    "ACCESS_TOKEN_LIFETIME": 3600,
    # ``--clock-skew`` runs with and without a leeway (the default is none).
    "JWT_LEEWAY": int(os.environ.get("LOAD_JWT_LEEWAY", "0")),
}

# 4xx answers are the load's daily bread (409 for a raced use, 429 for the quota): no log line for each.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}
