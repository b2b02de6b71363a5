"""Every API error as ``{"detail": <translated text>, "code": <stable code>}`` (contract section 9).

:func:`exception_handler` is used by the app's own views whatever the host's DRF settings say; hosts may
also name it in ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` to give their views the same shape.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from django_convites.exceptions import ConvitesError, RequestTooLarge


class ConvitesAPIException(exceptions.APIException):
    """A :class:`~django_convites.exceptions.ConvitesError` carried through DRF."""

    def __init__(self, error: ConvitesError) -> None:
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Bad request.")
    default_code = "bad_request"


def as_api_exception(exc: Exception) -> Exception:
    """Translate domain and Django exceptions that DRF does not know into API exceptions."""
    if isinstance(exc, ConvitesError):
        return ConvitesAPIException(exc)
    if isinstance(exc, RequestDataTooBig):
        return ConvitesAPIException(RequestTooLarge())
    if isinstance(exc, SuspiciousOperation):
        return BadRequest()
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
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = error_body(exc)
    return response
