"""The app's rate limits, for the API and the HTML pages alike: no DRF here.

A :class:`RateLimit` is one budget: a scope, the ``DJANGO_CONVITES`` setting that holds its rate
(``"60/minute"``, ``"5/s"``, ``"100/hour"``, ``"1000/day"``; ``None``: not limited), read at every hit so
``override_settings`` works, and a key function that says whose budget a Django request spends (the
client IP, the username posted, the logged-in user). :meth:`RateLimit.hit` counts one attempt and says
whether it may go on. The API's throttles (:mod:`django_convites.api.throttling`) and the pages
(:mod:`django_convites.views`) spend the same limits, under the same cache keys, so a login on the site
and one on ``POST /api/auth/token/`` share one budget.

**Window.** A fixed window per key, opened by the key's first attempt, not by the clock: the first attempt
under a key (a client IP, say) opens a window of the rate's period, the first ``count`` attempts in it go
on, later ones are refused until it ends, and the next attempt after that opens a new one. The wait a refusal reports is the time
left in the window. A burst of ``count + 1`` attempts is always refused at the last one; unlike DRF's
sliding log, up to ``2 * count`` attempts can fit in one period that straddles the end of a window. A
refused attempt is counted too, which changes nothing: the window ends when it was going to.

**Counting.** In Django's ``default`` cache (check ``django_convites.W004`` warns about a per-process or
dummy one), with no list of timestamps: per key one entry holds when the window ends, written with
``cache.add`` (so every process agrees on one window), and one integer per window counts, raised with
``cache.incr``. Both are atomic on Redis, Memcached and the local-memory cache, so several server
processes sharing the cache never let more than ``count`` attempts through a window. Django's database
and file caches have no atomic increment: there the count is a read and a write (with the window's own
timeout), and attempts made at the very same moment may be counted once. A dummy cache keeps nothing, so
nothing is limited.

**When the cache fails** (a Redis that is down), the limits fail closed: an attempt that cannot be counted
is refused before it is tried, with :class:`~django_convites.exceptions.RateLimitUnavailable` (503
``rate_limit_unavailable`` and ``Retry-After``; the pages answer the ``django_convites/database_busy.html``
page with that status), and a warning goes to the ``django_convites`` logger. Only what spends a limit is
refused (logins, invite validation and sign-up, resends, two-factor and code checks); a limit set to
``None`` asks nothing of the cache, and the authentication of API tokens and JWTs never does.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest

from django_convites._cache import increment, safe_key
from django_convites.conf import app_settings, parse_rate
from django_convites.exceptions import RateLimitUnavailable
from django_convites.net import client_ip
from django_convites.services.sessions import username_key

logger = logging.getLogger("django_convites")

#: A request -> the key whose budget it spends, or None: not counted (no username posted, no user).
KeyFunction = Callable[[HttpRequest], "str | None"]

#: The start of every cache key of the limits: ``convites:ratelimit:<scope>:<key>``.
CACHE_PREFIX = "convites:ratelimit"

#: The least wait a refusal reports: a window whose end this process's clock has passed, still in the
#: cache (which counts its timeouts in whole seconds), has a moment left.
_SHORTEST_WAIT = 0.001


def client_ip_key(request: HttpRequest) -> str:
    """The client's IP, as :func:`django_convites.net.client_ip` resolves it (a client cannot pick its own
    by sending ``X-Forwarded-For``); ``"unknown"`` when not even ``REMOTE_ADDR`` is an address."""
    return client_ip(request) or "unknown"


def posted_username_key(request: HttpRequest) -> str | None:
    """:func:`~django_convites.services.sessions.username_key` of the ``username`` of a form post
    (``request.POST``), so every spelling of a username (case, surrounding spaces, Unicode form) spends
    one budget; None, not counted, without one. A JSON body is no form post: the API's throttle reads the
    username from DRF's ``request.data`` itself and calls :meth:`RateLimit.hit_key`."""
    return username_key(request.POST.get("username"))


def user_key(request: HttpRequest) -> str | None:
    """The primary key of the logged-in user (``request.user``, which DRF sets to the user it
    authenticated); None, not counted, for an anonymous request."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return str(user.pk)


@dataclass(frozen=True)
class RateLimit:
    """One rate limit: attempts under one key, at most the rate in ``setting``, counted in the cache.

    ``scope`` names the limit in its cache keys (keep it to letters, digits and ``_``); ``setting`` is the
    ``DJANGO_CONVITES`` key of the rate; ``key`` says whose budget a request spends. The window and the
    counting are described in :mod:`django_convites.ratelimit`.
    """

    scope: str
    setting: str
    key: KeyFunction

    def rate(self) -> tuple[int, int] | None:
        """``(count, period in seconds)`` of the setting now, or None: not limited. A bad value raises
        ``ImproperlyConfigured`` (as reading any bad setting does)."""
        value = getattr(app_settings, self.setting)
        return None if value is None else parse_rate(value)

    def hit(self, request: HttpRequest) -> float | None:
        """Count one attempt of ``request`` under its key: None when it may go on (or is not limited, or
        has no key), otherwise the seconds to wait before the window ends. The key function is not even
        called when the limit is off."""
        if self.rate() is None:
            return None
        return self.hit_key(self.key(request))

    def hit_key(self, key: str | None) -> float | None:
        """:meth:`hit` for a key the caller found (the API's throttles, from a DRF request). None: counted
        nowhere, and allowed."""
        rate = self.rate()
        if rate is None or key is None:
            return None
        count, period = rate
        name = self.cache_key(key)
        now = time.time()
        try:
            cache = caches[DEFAULT_CACHE_ALIAS]
            ends = _window_end(cache, name, now, period)
            # One counter per window: it starts from nothing when the next window opens, whatever the
            # backend does with its timeout. It lives a second longer than the window, which the entry above
            # closes.
            attempts = increment(cache, f"{name}:{int(ends * 1000)}", max(1, math.ceil(ends - now)) + 1)
        except Exception as error:  # the cache failed: refuse, uncounted (the module's "When the cache fails")
            # One line, no traceback: while the cache is down this is written for every refused request.
            logger.warning(
                "django_convites: the cache failed (%s: %s); %s refused the request",
                type(error).__name__,
                error,
                self.scope,
            )
            raise RateLimitUnavailable() from error
        if attempts <= count:
            return None
        return max(ends - now, _SHORTEST_WAIT)

    def cache_key(self, key: str) -> str:
        """The cache key of the window of ``key``: ``convites:ratelimit:<scope>:<key>``, the key hashed
        (SHA-256) unless it is short and plain."""
        return f"{CACHE_PREFIX}:{self.scope}:{safe_key(key)}"


def _window_end(cache: BaseCache, name: str, now: float, period: int) -> float:
    """When the window of ``name`` ends: the one already open, or one opened now for ``period`` seconds.
    ``cache.add`` writes only if no process has opened one, so all of them count in the same window."""
    ends = cache.get(name)
    if isinstance(ends, float):
        return ends
    ends = now + period
    if cache.add(name, ends, period):
        return ends
    found = cache.get(name)  # another process opened the window first
    return found if isinstance(found, float) else ends


def hit_all(limits: Iterable[RateLimit], request: HttpRequest) -> float | None:
    """Count one attempt of ``request`` against every limit in ``limits`` (each counts it, whatever the
    others say): None when all let it go on, otherwise the longest wait."""
    waits = [wait for limit in limits if (wait := limit.hit(request)) is not None]
    return max(waits) if waits else None


#: ``INVITE_VALIDATION_RATE`` validations of invite codes per client IP.
INVITE_VALIDATION = RateLimit("convites_invite_validation", "INVITE_VALIDATION_RATE", client_ip_key)
#: ``LOGIN_RATE`` login attempts per client IP.
LOGIN = RateLimit("convites_login", "LOGIN_RATE", client_ip_key)
#: ``LOGIN_USERNAME_RATE`` login attempts per username, from any address (a digest of it is the key).
LOGIN_USERNAME = RateLimit("convites_login_username", "LOGIN_USERNAME_RATE", posted_username_key)
#: ``TWO_FACTOR_RATE`` code checks per user, whatever the device (so no device is ever locked).
TWO_FACTOR = RateLimit("convites_two_factor", "TWO_FACTOR_RATE", user_key)
#: ``INVITE_RESEND_RATE`` resends of invites per user (whoever's invites they are).
INVITE_RESEND = RateLimit("convites_invite_resend", "INVITE_RESEND_RATE", user_key)

#: The limits of every login, on the API and on the site: per client IP and per username.
LOGIN_LIMITS = (LOGIN, LOGIN_USERNAME)
#: Every limit of the app.
LIMITS = (INVITE_VALIDATION, LOGIN, LOGIN_USERNAME, TWO_FACTOR, INVITE_RESEND)
