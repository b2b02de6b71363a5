"""The two ways the app counts in Django's ``default`` cache, shared by the rate limits
(:mod:`django_convites.ratelimit`) and the coalesced refusals (:mod:`django_convites.coalesce`): a key any
backend accepts, and a counter raised by one."""

from __future__ import annotations

import hashlib
import re

from django.core.cache.backends.base import BaseCache

#: Keys kept as they are in the cache key (addresses, digests, primary keys); any other is hashed, so no
#: key breaks a cache's key rules (Memcached refuses spaces and more than 250 characters).
_PLAIN_KEY = re.compile(r"[0-9A-Za-z.:_-]{1,100}")


def safe_key(key: str) -> str:
    """``key`` as it is when short and plain, else its SHA-256 (hex)."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def increment(cache: BaseCache, name: str, timeout: int) -> int:
    """Add one to the counter ``name`` (made with ``timeout`` seconds to live) and return it."""
    if type(cache).incr is BaseCache.incr:
        # Django's generic incr (database and file caches) is a get and a set that also puts the key's
        # timeout back to the cache's default: no less atomic, this keeps the counter's timeout.
        count = int(cache.get(name, 0)) + 1
        cache.set(name, count, timeout)
        return count
    try:
        return int(cache.incr(name))
    except ValueError:  # no counter yet
        if cache.add(name, 1, timeout):
            return 1
    try:
        return int(cache.incr(name))  # another process made it first
    except ValueError:  # and it is gone already: this is the first of what is left
        return 1
