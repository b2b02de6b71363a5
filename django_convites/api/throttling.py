"""DRF throttles that spend the app's rate limits (:mod:`django_convites.ratelimit`).

Each class is a thin adapter: it hands one :class:`~django_convites.ratelimit.RateLimit` the key of a DRF
request and gives DRF the wait the limit reports (``Retry-After``). The limits, their windows, their cache
keys and their settings (read at request time from ``DJANGO_CONVITES``, never from ``REST_FRAMEWORK``) are
in that module, shared with the HTML pages; the client IP is the app's one resolver, so a client cannot
dodge a throttle by sending a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from django_convites import ratelimit
from django_convites.services import sessions


class RateLimitThrottle(BaseThrottle):
    """A DRF throttle for one :class:`~django_convites.ratelimit.RateLimit` (``limit``). Subclasses name
    the limit and, when a DRF request holds its key elsewhere than the Django request, override :meth:`key`."""

    limit: ClassVar[ratelimit.RateLimit]

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def key(self, request: Request) -> str | None:
        """The key ``request`` spends: the limit's key function applied to the Django request under it (DRF
        has set its ``user`` to the user it authenticated)."""
        return self.limit.key(request._request)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.limit.rate() is None:
            return True  # off: the request is not even read for a key
        self.retry_after = self.limit.hit_key(self.key(request))
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


class InviteValidationThrottle(RateLimitThrottle):
    """``INVITE_VALIDATION_RATE`` validations of invite codes per client IP."""

    limit = ratelimit.INVITE_VALIDATION


class LoginThrottle(RateLimitThrottle):
    """``LOGIN_RATE`` login attempts per client IP."""

    limit = ratelimit.LOGIN


class LoginUsernameThrottle(RateLimitThrottle):
    """``LOGIN_USERNAME_RATE`` login attempts per username, from any address (a digest of it is the key).

    The key is :func:`~django_convites.services.sessions.username_key` of the username the login hands to
    ``authenticate()``, read from DRF's ``request.data`` (a JSON body or a form), so no spelling of a
    username (case, spaces, Unicode form) gets a budget of its own; the site's login pages count the same
    key from ``request.POST``. A username that is no string is not counted here: the login answers it 400
    without trying it.
    """

    limit = ratelimit.LOGIN_USERNAME

    def key(self, request: Request) -> str | None:
        data = request.data
        return sessions.username_key(data.get("username") if isinstance(data, Mapping) else None)


class TwoFactorThrottle(RateLimitThrottle):
    """``TWO_FACTOR_RATE`` code checks per user (whatever the device, so no device is locked out)."""

    limit = ratelimit.TWO_FACTOR


class InviteResendThrottle(RateLimitThrottle):
    """``INVITE_RESEND_RATE`` resends of invites per user."""

    limit = ratelimit.INVITE_RESEND
