"""JSON ``handler400``/``handler403``/``handler404``/``handler500`` for the API.

Django's own error pages are HTML. A host sets these in its root URLconf::

    handler400 = "django_convites.api.handlers.bad_request"
    handler403 = "django_convites.api.handlers.permission_denied"
    handler404 = "django_convites.api.handlers.page_not_found"
    handler500 = "django_convites.api.handlers.server_error"

Requests to the app's API (or that ask for JSON) get ``{"detail", "code"}``; every other request gets
Django's default page, so the host's HTML site is unchanged.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views import defaults


def _api_prefix() -> str | None:
    try:
        return reverse("convites_api:root")
    except NoReverseMatch:
        return None


def wants_json(request: HttpRequest) -> bool:
    """Whether the error for ``request`` should be JSON: an API path, or a client that asks for JSON."""
    prefix = _api_prefix()
    if prefix and request.path.startswith(prefix):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _json(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if wants_json(request):
        return _json(_("Bad request."), "bad_request", 400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request: HttpRequest, exception: Exception, template_name: str = "403.html") -> HttpResponse:
    if wants_json(request):
        return _json(_("You do not have permission to perform this action."), "permission_denied", 403)
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if wants_json(request):
        return _json(_("Not found."), "not_found", 404)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request: HttpRequest, template_name: str = "500.html", **kwargs: Any) -> HttpResponse:
    if wants_json(request):
        return _json(_("Server error."), "server_error", 500)
    return defaults.server_error(request, template_name)
