"""Domain errors with a stable machine ``code`` and an HTTP status. No DRF here.

Services raise these; the API turns them into ``{"detail", "code"}`` responses
(:mod:`django_convites.api.exceptions`), and HTML pages into form errors.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ConvitesError(Exception):
    """Base of every error the app reports to a client. The message never repeats a secret."""

    status_code = 400
    code = "invalid"
    default_detail: str | Promise = _("Invalid request.")

    def __init__(self, detail: str | Promise | None = None, *, code: str | None = None) -> None:
        self.detail = detail if detail is not None else self.default_detail
        if code is not None:
            self.code = code
        super().__init__(str(self.detail))


class RequestTooLarge(ConvitesError):
    status_code = 413
    code = "request_too_large"
    default_detail = _("The request body is too large.")


class NotAllowed(ConvitesError):
    status_code = 403
    code = "permission_denied"
    default_detail = _("You do not have permission to perform this action.")
