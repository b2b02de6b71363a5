"""DRF throttles keyed by the client IP of :mod:`django_convites.net`, with rates from ``conf.py``.

DRF's own ``SimpleRateThrottle`` reads its rates from ``REST_FRAMEWORK`` once, at import, and finds the
client through ``X-Forwarded-For`` by itself; these read ``DJANGO_CONVITES`` at request time and use the
one client-IP resolver of the app, so a client cannot dodge a throttle by sending a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from django_convites.conf import app_settings
from django_convites.net import client_ip
from django_convites.services import sessions


class ClientIPRateThrottle(SimpleRateThrottle):
    """Counts requests per client IP in Django's default cache. Subclasses name the setting."""

    setting = ""

    def get_rate(self) -> str | None:
        return getattr(app_settings, self.setting)  # type: ignore[no-any-return]

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class InviteValidationThrottle(ClientIPRateThrottle):
    """``INVITE_VALIDATION_RATE`` validations of invite codes per client IP."""

    scope = "convites_invite_validation"
    setting = "INVITE_VALIDATION_RATE"


class LoginThrottle(ClientIPRateThrottle):
    """``LOGIN_RATE`` login attempts per client IP."""

    scope = "convites_login"
    setting = "LOGIN_RATE"


class LoginUsernameThrottle(ClientIPRateThrottle):
    """``LOGIN_USERNAME_RATE`` login attempts per username, from any address (a digest of it is the key).

    The key is :func:`~django_convites.services.sessions.username_key` of the username the login hands to
    ``authenticate()``, so no spelling of a username (case, spaces, Unicode form) gets a budget of its
    own. A username that is no string is not counted here: the login answers it 400 without trying it.
    Works for DRF requests (``request.data``) and Django form posts (``request.POST``) alike.
    """

    scope = "convites_login_username"
    setting = "LOGIN_USERNAME_RATE"

    def get_cache_key(self, request: Request | HttpRequest, view: Any) -> str | None:
        data = request.data if isinstance(request, Request) else request.POST
        ident = sessions.username_key(data.get("username") if isinstance(data, Mapping) else None)
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TwoFactorThrottle(ClientIPRateThrottle):
    """``TWO_FACTOR_RATE`` code checks per user (whatever the device, so no device is locked out)."""

    scope = "convites_two_factor"
    setting = "TWO_FACTOR_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
