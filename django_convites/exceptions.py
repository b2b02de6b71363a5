"""Domain errors with a stable machine ``code`` and an HTTP status. No DRF here.

Services raise these; :func:`error_answer` is the one place that turns one into a status, a
``{"detail", "code"}`` body and its headers, for the API (:mod:`django_convites.api.exceptions`), the JSON
error handlers (:mod:`django_convites.api.handlers`) and the middleware; HTML pages show the ``detail`` as a
form error with the same status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ConvitesError(Exception):
    """Base of every error the app reports to a client. The message never repeats a secret.

    ``status`` answers the same refusal with another of the class's ``other_statuses`` (an invite used
    already is 410 when validated, 409 when used or revoked); ``retry_after`` (seconds) becomes a
    ``Retry-After`` header. :func:`error_answer` turns an error into what the client is sent.
    """

    status_code = 400
    #: The statuses besides ``status_code`` that ``status=`` may choose (docs/errors.rst lists them all).
    other_statuses: frozenset[int] = frozenset()
    code = "invalid"
    default_detail: str | Promise = _("Invalid request.")
    #: Seconds the client should wait before it sends the request again; None: no ``Retry-After``.
    retry_after: int | None = None

    def __init__(
        self,
        detail: str | Promise | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.detail = detail if detail is not None else self.default_detail
        if code is not None:
            self.code = code
        if status is not None and status != self.status_code:
            if status not in self.other_statuses:
                raise ValueError(f"{type(self).__name__} is never answered with status {status}")
            self.status_code = status
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(str(self.detail))


class BadRequest(ConvitesError):
    """A request Django rejected as suspicious (``SuspiciousOperation``: a disallowed ``Host``, say)."""

    status_code = 400
    code = "bad_request"
    default_detail = _("Bad request.")


class RequestTooLarge(ConvitesError):
    status_code = 413
    code = "request_too_large"
    default_detail = _("The request body is too large.")


class ServerError(ConvitesError):
    """A bug on the server (``handler500``); the answer never says more than that."""

    status_code = 500
    code = "server_error"
    default_detail = _("Server error.")


class NotAllowed(ConvitesError):
    status_code = 403
    code = "permission_denied"
    default_detail = _("You do not have permission to perform this action.")


class NotOwner(NotAllowed):
    """Only the owner may do this (rotating an API token hands out its secret)."""

    code = "not_owner"
    default_detail = _("Only the owner may do this.")


class InteractiveLoginRequired(NotAllowed):
    """Changing factors and step-up codes need a person logged in (a session or a JWT), not an API token."""

    code = "interactive_login_required"
    default_detail = _("This needs an interactive login (a session or a JWT), not an API token.")


class InvalidField(ConvitesError):
    """One input field is wrong; the API answers DRF's field map ``{field: [detail]}`` with 400."""

    status_code = 400
    code = "invalid"

    def __init__(self, field: str, detail: str | Promise) -> None:
        super().__init__(detail)
        self.field = field


class InvalidFields(ConvitesError):
    """Several input fields are wrong (a form's errors); the API answers DRF's field map
    ``{field: [detail, ...]}`` with 400, as for :class:`InvalidField`."""

    status_code = 400
    code = "invalid"

    def __init__(self, errors: Mapping[str, Sequence[str | Promise]]) -> None:
        super().__init__(_("Invalid input."))
        self.errors = {field: [str(message) for message in messages] for field, messages in errors.items()}


# -- invites -----------------------------------------------------------------------------------------------


class InvalidCodeFormat(ConvitesError):
    status_code = 400
    code = "invalid_code_format"
    default_detail = _("This is not an invite code.")


class InviteNotFound(ConvitesError):
    status_code = 404
    code = "invite_not_found"
    default_detail = _("No invite matches.")


class InviteUsed(ConvitesError):
    """Using or revoking an invite that was already used (409); validating one is ``status=410``."""

    status_code = 409
    other_statuses = frozenset({410})
    code = "invite_used"
    default_detail = _("This invite has already been used.")


class InviteExpired(ConvitesError):
    status_code = 410
    code = "invite_expired"
    default_detail = _("This invite has expired.")


class InviteRevoked(ConvitesError):
    """Validating or using a revoked invite (410); revoking it again is ``status=409``."""

    status_code = 410
    other_statuses = frozenset({409})
    code = "invite_revoked"
    default_detail = _("This invite has been revoked.")


class InviteEmailMismatch(ConvitesError):
    """A sign-up with an address other than the one the invite is bound to (compared in any case)."""

    status_code = 400
    code = "invite_email_mismatch"
    default_detail = _("This invite is for another e-mail address.")


class InviteNotBound(ConvitesError):
    """Sending again an invite that is bound to no address: there is no one to send it to."""

    status_code = 409
    code = "invite_not_bound"
    default_detail = _("This invite is not bound to an e-mail address: there is nowhere to send it.")


class SignUpFailed(ConvitesError):
    """A sign-up with an invite failed for a reason of the site's (its ``invite_used`` receiver raised):
    the account and the use were rolled back."""

    status_code = 503
    code = "signup_failed"
    default_detail = _("Your account could not be created. Nothing was saved: try again later.")


class InviteQuotaExceeded(ConvitesError):
    status_code = 429
    code = "invite_quota_exceeded"
    default_detail = _("You have created as many invites as you may today.")

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)


# -- API tokens --------------------------------------------------------------------------------------------


class InvalidToken(ConvitesError):
    """A Bearer credential that is malformed or matches no token."""

    status_code = 401
    code = "authentication_failed"
    default_detail = _("Invalid token.")


class InactiveUser(InvalidToken):
    default_detail = _("The token's user is inactive.")


class TokenExpired(ConvitesError):
    status_code = 401
    code = "token_expired"
    default_detail = _("The token has expired.")


class TokenRevoked(ConvitesError):
    """Authenticating with a revoked token (401); rotating a revoked API token is ``status=409``."""

    status_code = 401
    other_statuses = frozenset({409})
    code = "token_revoked"
    default_detail = _("The token has been revoked.")


class IPNotAllowed(ConvitesError):
    status_code = 403
    code = "ip_not_allowed"
    default_detail = _("The token may not be used from this address.")


class InsufficientScope(ConvitesError):
    status_code = 403
    code = "insufficient_scope"
    default_detail = _("The token's scope does not allow this action.")


class ScopeNotAllowed(ConvitesError):
    status_code = 403
    code = "scope_not_allowed"
    default_detail = _("You may not create a token with this scope.")


class NotFound(ConvitesError):
    status_code = 404
    code = "not_found"
    default_detail = _("Not found.")


# -- sessions ----------------------------------------------------------------------------------------------


class InvalidCredentials(ConvitesError):
    status_code = 401
    code = "invalid_credentials"
    default_detail = _("Wrong username or password.")


class OtpRequired(ConvitesError):
    status_code = 401
    code = "otp_required"
    default_detail = _("This account uses two-factor authentication: send the current code as 'otp'.")


class OtpInvalid(ConvitesError):
    """A wrong two-factor code at login (401); sent to a two-factor endpoint or page it is ``status=400``."""

    status_code = 401
    other_statuses = frozenset({400})
    code = "otp_invalid"
    default_detail = _("The two-factor code is wrong or was used already.")


class TokenReused(ConvitesError):
    status_code = 401
    code = "token_reused"
    default_detail = _("This refresh token was used already; the session has been ended.")


# -- two-factor authentication -----------------------------------------------------------------------------


class TwoFactorActive(ConvitesError):
    status_code = 409
    code = "two_factor_active"
    default_detail = _("Two-factor authentication is on already; turn it off first to enrol a new device.")


class OtpLocked(ConvitesError):
    """``TOTP_FAILURE_LIMIT`` wrong two-factor codes in a row: every code, a right one too, is refused
    until ``TOTP_LOCKOUT`` has passed or an admin unlocks the user. ``retry_after``: the seconds left."""

    status_code = 429
    code = "otp_locked"
    default_detail = _("Too many wrong two-factor codes in a row: codes are refused for a while.")

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)


class TwoFactorRequired(ConvitesError):
    """A request whose user must prove a second factor first (an unverified session, or a role that
    ``TWO_FACTOR_REQUIRED_ROLES`` names without a device or without a code at login)."""

    status_code = 403
    code = "two_factor_required"
    default_detail = _("Two-factor authentication is required: verify this session, or enable it first.")


# -- authentication codes ----------------------------------------------------------------------------------


class CodeCooldown(ConvitesError):
    status_code = 429
    code = "code_cooldown"
    default_detail = _("A code was sent a moment ago; wait before asking for another.")


class CodeUndeliverable(ConvitesError):
    status_code = 409
    code = "code_undeliverable"
    default_detail = _("There is no address to send a code to for this account.")


class InviteUndeliverable(ConvitesError):
    status_code = 503
    code = "invite_undeliverable"
    default_detail = _("The invite could not be sent, so it was not created. Try again later.")


class CodeInvalid(ConvitesError):
    status_code = 400
    code = "code_invalid"
    default_detail = _("This code is not valid.")


class CodeExpired(ConvitesError):
    status_code = 410
    code = "code_expired"
    default_detail = _("This code has expired; ask for a new one.")


class CodeUsed(ConvitesError):
    status_code = 410
    code = "code_used"
    default_detail = _("This code was used already; ask for a new one.")


class CodeLocked(ConvitesError):
    status_code = 410
    code = "code_locked"
    default_detail = _("Too many wrong tries: this code no longer works; ask for a new one.")


# -- the database ------------------------------------------------------------------------------------------

#: SQLite's "database is locked" (another connection holds the write lock past the busy timeout) and
#: "database table is locked" (a shared-cache connection holds it). Other databases wait for locks instead.
_DATABASE_LOCKED = re.compile(r"\bdatabase (?:table |schema )?is locked\b", re.IGNORECASE)


class DatabaseBusy(ConvitesError):
    """The database stayed locked by another writer past its timeout (SQLite under parallel writes). The
    request may be sent again after ``retry_after`` seconds; a 503, never a 500."""

    status_code = 503
    code = "database_busy"
    default_detail = _("The database is busy. Try again in a moment.")
    retry_after = 1


class RateLimitUnavailable(ConvitesError):
    """A rate limit could not be counted: the cache that holds the counts (Redis, say) failed. The request
    is refused before it is tried, as a limit that is spent would refuse it: a 503 with ``retry_after``,
    never a 500, and never a request let through uncounted (:mod:`django_convites.ratelimit`)."""

    status_code = 503
    code = "rate_limit_unavailable"
    default_detail = _("Attempts cannot be counted right now, so this one was not tried. Try again in a moment.")
    retry_after = 10


def is_database_locked(exc: BaseException | None) -> bool:
    """Whether ``exc`` is SQLite's locked-database error (an ``OperationalError`` saying "database is
    locked" or "database table is locked"). Any other error, ``OperationalError`` or not, is not."""
    return isinstance(exc, OperationalError) and bool(_DATABASE_LOCKED.search(str(exc)))


# -- what the client is sent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorAnswer:
    """An error as HTTP: the status, the JSON body and the headers (``Retry-After``)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def error_answer(error: ConvitesError) -> ErrorAnswer:
    """The one HTTP form of a domain error, whoever answers it: the API's exception handler and its
    authentication and permission classes, the JSON error handlers, the middleware and the HTML pages.

    The body is ``{"detail": <translated text>, "code": <stable code>}`` (docs/errors.rst); an
    :class:`InvalidField` (or :class:`InvalidFields`) puts DRF's field map ``{field: [detail]}`` before those
    two keys. An error with
    ``retry_after`` adds ``Retry-After`` in whole seconds.
    """
    body: dict[str, Any] = {}
    if isinstance(error, InvalidField):
        body[error.field] = [str(error.detail)]
    if isinstance(error, InvalidFields):
        body.update(error.errors)
    if isinstance(error, (InvalidField, InvalidFields)):
        # Assigned after the field map: a field named "detail" or "code" never replaces the two keys.
        body["detail"] = str(_("Invalid input."))
        body["code"] = "invalid"
    else:
        body.update(detail=str(error.detail), code=error.code)
    headers = {} if error.retry_after is None else {"Retry-After": str(int(error.retry_after))}
    return ErrorAnswer(status=error.status_code, body=body, headers=headers)
