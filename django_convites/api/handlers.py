"""JSON ``handler400``/``handler403``/``handler404``/``handler500`` for the API.

Django's own error pages are HTML. A host sets these in its root URLconf::

    handler400 = "django_convites.api.handlers.bad_request"
    handler403 = "django_convites.api.handlers.permission_denied"
    handler404 = "django_convites.api.handlers.page_not_found"
    handler500 = "django_convites.api.handlers.server_error"

Requests to the app's API (or that ask for JSON) get ``{"detail", "code"}`` (:func:`json_error`, the body
the API's own views answer); every other request gets Django's default page, so the host's HTML site is
unchanged. A locked database (SQLite under parallel writes) is no bug: :func:`server_error` answers it,
like the two-factor middleware does for views, with :func:`database_busy`, a 503 with ``Retry-After``; so is
a rate limit the cache could not count (:func:`unavailable`).
"""

from __future__ import annotations

import sys
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.views import defaults

from django_convites.exceptions import (
    BadRequest,
    ConvitesError,
    DatabaseBusy,
    NotAllowed,
    NotFound,
    RateLimitUnavailable,
    ServerError,
    error_answer,
    is_database_locked,
)


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


def json_error(error: ConvitesError) -> JsonResponse:
    """``error`` as the API answers it outside DRF: its status, ``{"detail", "code"}`` body and headers
    (:func:`django_convites.exceptions.error_answer`)."""
    answer = error_answer(error)
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if wants_json(request):
        return json_error(BadRequest())
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request: HttpRequest, exception: Exception, template_name: str = "403.html") -> HttpResponse:
    if wants_json(request):
        return json_error(NotAllowed())
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if wants_json(request):
        return json_error(NotFound())
    return defaults.page_not_found(request, exception, template_name)


def unavailable(request: HttpRequest, error: ConvitesError) -> HttpResponse:
    """``error``, a 503 with ``Retry-After`` (:class:`~django_convites.exceptions.DatabaseBusy` or
    :class:`~django_convites.exceptions.RateLimitUnavailable`): JSON for the API (see :func:`wants_json`),
    otherwise the ``django_convites/database_busy.html`` page with the error's text, rendered without the
    request (neither the database nor the cache may be asked)."""
    if wants_json(request):
        return json_error(error)
    answer = error_answer(error)
    page = render_to_string("django_convites/database_busy.html", {"detail": answer.body["detail"]})
    response = HttpResponse(page, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def database_busy(request: HttpRequest) -> HttpResponse:
    """503 ``database_busy`` with ``Retry-After``, as :func:`unavailable` answers it."""
    return unavailable(request, DatabaseBusy())


def server_error(request: HttpRequest, template_name: str = "500.html", **kwargs: Any) -> HttpResponse:
    exception = sys.exc_info()[1]  # Django calls handler500 while it handles the exception
    if is_database_locked(exception):
        return database_busy(request)
    if isinstance(exception, RateLimitUnavailable):
        return unavailable(request, exception)
    if wants_json(request):
        return json_error(ServerError())
    return defaults.server_error(request, template_name)
