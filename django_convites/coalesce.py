"""Refusals of one credential, for one reason, recorded at most once a window (docs/audit.rst).

A client that replays a revoked, expired or wrong-address API token would otherwise make the site write
an audit row (and its webhook deliveries) per request. :func:`refusal_window` decides whether a refusal
opens a window, and is recorded, or falls in one already open, and is only counted.

**Where.** In Django's ``default`` cache, like the rate limits (:mod:`django_convites.ratelimit`): per
credential and reason, one entry whose ``cache.add`` opens the window (so every process sharing the
cache agrees on one opener) and one integer, raised with ``cache.incr``, counting the refusals not
recorded. The refusal that opens the next window takes that count (``cache.decr`` by what it read, so a
refusal counted meanwhile stays for the window after) and its event carries it in ``tentativas``. A
refusal inside a window costs no database query and no write at all.

**When the cache fails.** Every error of the cache opens the window: the refusal is recorded, as if there
were no coalescing. Losing a count is acceptable; losing the record of a refusal is not. A dummy cache
keeps nothing, so every refusal is recorded; the local-memory cache coalesces per server process (check
``django_convites.W004`` already warns about it for the rate limits).
"""

from __future__ import annotations

import contextlib
import logging

from django.core.cache import DEFAULT_CACHE_ALIAS, caches

from django_convites._cache import increment, safe_key

logger = logging.getLogger("django_convites")

#: The start of every cache key: ``convites:recusa:<key>`` opens a window, ``...:n`` counts in it.
CACHE_PREFIX = "convites:recusa"
#: How long refusals not recorded wait in the cache for the next window to take them (seconds).
PENDING_TIMEOUT = 24 * 60 * 60


def cache_key(key: str) -> str:
    """The cache key of the window of ``key`` (hashed unless short and plain)."""
    return f"{CACHE_PREFIX}:{safe_key(key)}"


def refusal_window(key: str, seconds: int) -> int | None:
    """Count one refusal under ``key``: None when a window of ``seconds`` is already open for it (the
    refusal is counted, and not to be recorded); otherwise the refusals the event to record stands for,
    this one and those counted since the last one recorded."""
    name = cache_key(key)
    counter = f"{name}:n"
    try:
        cache = caches[DEFAULT_CACHE_ALIAS]
        if not cache.add(name, 1, seconds):
            increment(cache, counter, PENDING_TIMEOUT)
            return None
        pending = cache.get(counter)
        if not isinstance(pending, int) or pending <= 0:
            return 1
        with contextlib.suppress(ValueError):  # gone meanwhile (its timeout): nothing left to take
            cache.decr(counter, pending)
        return pending + 1
    except Exception as error:  # the cache is down: record the refusal, without a count
        # One line, no traceback: while the cache is down this is written for every refusal recorded.
        logger.warning(
            "django_convites: the cache failed (%s: %s); the refusal is recorded uncoalesced",
            type(error).__name__,
            error,
        )
        return 1
