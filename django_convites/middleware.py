"""Two-factor authentication for session users of the site's own pages.

Add the middleware after django-otp's::

    MIDDLEWARE = [
        ...
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "django_convites.middleware.TwoFactorMiddleware",
        ...
    ]

A logged-in user with a confirmed device whose session has not proved it is sent to
``/tokens/verificar-2fa/?next=<page>``; a user whose role is in ``TWO_FACTOR_REQUIRED_ROLES`` and who has
no device is sent to ``/tokens/ativar-2fa/?next=<page>``. Pages stay open that a user needs before then:
the two-factor pages, login and logout (any URL named ``login`` or ``logout``, and Django's
``LoginView`` and ``LogoutView``), the app's API views (they answer for themselves with
:class:`~django_convites.api.permissions.RequireTwoFactor`), and views marked with :func:`two_factor_exempt`.
The site's own DRF views get 403 ``two_factor_required`` in JSON instead of a redirect.

It also answers a view that fails on a locked database (SQLite under parallel writes, past its busy
timeout) with 503 ``database_busy`` and ``Retry-After`` instead of a 500: JSON for the API, a short page
otherwise (:func:`django_convites.api.handlers.database_busy`), and a rate limit the cache could not
count (a Redis that is down) with 503 ``rate_limit_unavailable`` the same way. Any other exception passes
through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from django_convites.api.handlers import database_busy, json_error, unavailable
from django_convites.exceptions import RateLimitUnavailable, TwoFactorRequired, is_database_locked
from django_convites.services import two_factor

View = TypeVar("View", bound=Callable[..., Any])

#: URL names whose views every user may reach (within any namespace, so ``admin:logout`` too).
OPEN_URL_NAMES = frozenset({"login", "logout"})

#: The attribute that marks a view function or class as open before the second factor.
_EXEMPT_ATTRIBUTE = "two_factor_exempt"


def two_factor_exempt(view: View) -> View:
    """Mark a view as reachable before the second factor (a help page, a custom logout)."""
    setattr(view, _EXEMPT_ATTRIBUTE, True)
    return view


def _view_class(view: Any) -> type | None:
    return getattr(view, "view_class", None) or getattr(view, "cls", None)


def _is_open(request: HttpRequest, view: Any) -> bool:
    if getattr(view, _EXEMPT_ATTRIBUTE, False):
        return True
    view_class = _view_class(view)
    if view_class is not None:
        if getattr(view_class, _EXEMPT_ATTRIBUTE, False) or issubclass(view_class, (LoginView, LogoutView)):
            return True
        from django_convites.api.base import ConvitesAPIMixin

        if issubclass(view_class, ConvitesAPIMixin):  # RequireTwoFactor answers there, in JSON
            return True
    match = request.resolver_match
    return match is not None and match.url_name in OPEN_URL_NAMES


def _is_api(view: Any) -> bool:
    from rest_framework.views import APIView

    view_class = _view_class(view)
    return view_class is not None and issubclass(view_class, APIView)


class TwoFactorMiddleware:
    """Send session users to verify or enrol a second factor before any other page (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or _is_open(request, view):
            return None
        is_verified = getattr(user, "is_verified", None)
        needed = two_factor.requirement(user, verified=bool(is_verified and is_verified()))
        if needed is None:
            return None
        if _is_api(view):  # the host's own DRF views: JSON, not a redirect
            return json_error(TwoFactorRequired())
        page = "django_convites:2fa-verify" if needed == two_factor.VERIFY else "django_convites:2fa-enable"
        return HttpResponseRedirect(f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}")

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A locked database is 503 ``database_busy``, a rate limit the cache could not count 503
        ``rate_limit_unavailable``, never a 500; every other exception passes through."""
        if isinstance(exception, RateLimitUnavailable):
            return unavailable(request, exception)
        if not is_database_locked(exception):
            return None
        return database_busy(request)
