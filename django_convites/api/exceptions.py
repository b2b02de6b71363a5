"""Every API error as ``{"detail": <translated text>, "code": <stable code>}`` (contract section 9).

:func:`exception_handler` is used by the app's own views whatever the host's DRF settings say; hosts may
also name it in ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` to give their views the same shape.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import connections
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from django_convites.exceptions import (
    ConvitesError,
    DatabaseBusy,
    InvalidField,
    RequestTooLarge,
    is_database_locked,
)


class ConvitesAPIException(exceptions.APIException):
    """A :class:`~django_convites.exceptions.ConvitesError` carried through DRF."""

    def __init__(self, error: ConvitesError) -> None:
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)
        # DRF's handler turns ``wait`` into a Retry-After header.
        self.wait = getattr(error, "retry_after", None)


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Bad request.")
    default_code = "bad_request"


def as_api_exception(exc: Exception) -> Exception:
    """Translate domain and Django exceptions that DRF does not know into API exceptions."""
    if isinstance(exc, InvalidField):
        return exceptions.ValidationError({exc.field: [exceptions.ErrorDetail(str(exc.detail), code=exc.code)]})
    if isinstance(exc, ConvitesError):
        return ConvitesAPIException(exc)
    if isinstance(exc, RequestDataTooBig):
        return ConvitesAPIException(RequestTooLarge())
    if isinstance(exc, SuspiciousOperation):
        return BadRequest()
    if is_database_locked(exc):
        return ConvitesAPIException(DatabaseBusy())
    return exc


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    """The JSON body of an API exception: ``detail`` and ``code``, plus the field map of a ValidationError."""
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        body: dict[str, Any] = {}
        if isinstance(detail, dict):
            body.update(detail)
            body.setdefault("detail", _("Invalid input."))
            body.setdefault("code", "invalid")
            return body
        if isinstance(detail, list) and detail:
            first = detail[0]
            return {"detail": str(first), "code": getattr(first, "code", "invalid")}
        return {"detail": _("Invalid input."), "code": "invalid"}
    return {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
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
    return response
