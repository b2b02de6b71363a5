"""Every API error as ``{"detail": <translated text>, "code": <stable code>}`` (docs/errors.rst).

:func:`exception_handler` is used by the app's own views whatever the host's DRF settings say; hosts may
also name it in ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` to give their views the same shape. A domain error
becomes a DRF exception in one place, :func:`as_drf_error`, and its status, body and headers come from
:func:`django_convites.exceptions.error_answer`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import connections
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.response import Response

from django_convites.exceptions import (
    BadRequest,
    ConvitesError,
    DatabaseBusy,
    RequestTooLarge,
    error_answer,
    is_database_locked,
)


class ConvitesAPIException(exceptions.APIException):
    """A :class:`~django_convites.exceptions.ConvitesError` carried through DRF, answered as
    :func:`~django_convites.exceptions.error_answer` says."""

    def __init__(self, error: ConvitesError) -> None:
        self.error = error
        self.answer = error_answer(error)
        self.status_code = self.answer.status
        super().__init__(detail=self.answer.body["detail"], code=self.answer.body["code"])
        # DRF's own handler (a host view that does not use ours) turns ``wait`` into Retry-After too.
        self.wait = error.retry_after


class ConvitesAuthenticationFailed(ConvitesAPIException, exceptions.AuthenticationFailed):
    """A 401 raised by an authentication class. DRF adds the view's ``WWW-Authenticate`` challenge to it,
    or answers 403 when no authentication class of the view names a scheme (docs/errors.rst)."""


def as_drf_error(error: ConvitesError, *, challenge: bool = False) -> ConvitesAPIException:
    """The DRF exception for a domain error, with the status, body and headers of its
    :func:`~django_convites.exceptions.error_answer`. ``challenge``: raised while authenticating, so a 401
    carries ``WWW-Authenticate`` (the credential is what failed); a view's own 401s (a wrong password at
    login) do not."""
    if challenge and error.status_code == 401:
        return ConvitesAuthenticationFailed(error)
    return ConvitesAPIException(error)


def as_api_exception(exc: Exception) -> Exception:
    """Translate domain and Django exceptions that DRF does not know into API exceptions."""
    if isinstance(exc, ConvitesError):
        return as_drf_error(exc)
    if isinstance(exc, RequestDataTooBig):
        return as_drf_error(RequestTooLarge())
    if isinstance(exc, SuspiciousOperation):
        return as_drf_error(BadRequest())
    if is_database_locked(exc):
        return as_drf_error(DatabaseBusy())
    return exc


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    """The JSON body of an API exception: ``detail`` and ``code``, plus the field map of a ValidationError."""
    if isinstance(exc, ConvitesAPIException):
        return dict(exc.answer.body)
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        body: dict[str, Any] = {}
        if isinstance(detail, dict):
            body.update({str(key): value for key, value in detail.items()})
            body.setdefault("detail", _("Invalid input."))
            body.setdefault("code", "invalid")
            return body
        if isinstance(detail, list) and detail:
            first = detail[0]
            return {"detail": str(first), "code": getattr(first, "code", "invalid")}
        return {"detail": _("Invalid input."), "code": "invalid"}
    return {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: defining APIView reads DEFAULT_AUTHENTICATION_CLASSES, whose BearerAuthentication
    # imports this module for as_drf_error.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = as_api_exception(exc)
    # DRF marks an ATOMIC_REQUESTS transaction for rollback on any error. The app's own views run outside
    # that transaction (their services own theirs), so an enclosing block, such as a test's, is left alone.
    own_view = getattr(context.get("view"), "convites_owns_transactions", False)
    marked = {conn.alias: conn.needs_rollback for conn in connections.all(initialized_only=True)} if own_view else {}
    response = drf_exception_handler(exc, context)
    for alias, needs_rollback in marked.items():
        connections[alias].needs_rollback = needs_rollback
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = error_body(exc)
    if isinstance(exc, ConvitesAPIException):
        for name, value in exc.answer.headers.items():
            response[name] = value
    return response
