"""Domain errors with a stable machine ``code`` and an HTTP status. No DRF here.

Services raise these; the API turns them into ``{"detail", "code"}`` responses
(:mod:`django_convites.api.exceptions`), and HTML pages into form errors.
"""

from __future__ import annotations

import re

from django.db import OperationalError
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
    """Using or revoking an invite that was already used."""

    status_code = 409
    code = "invite_used"
    default_detail = _("This invite has already been used.")


class InviteUsedGone(InviteUsed):
    """Validating an invite that was already used."""

    status_code = 410


class InviteExpired(ConvitesError):
    status_code = 410
    code = "invite_expired"
    default_detail = _("This invite has expired.")


class InviteRevoked(ConvitesError):
    """Validating or using a revoked invite."""

    status_code = 410
    code = "invite_revoked"
    default_detail = _("This invite has been revoked.")


class InviteAlreadyRevoked(InviteRevoked):
    """Revoking an invite that was already revoked."""

    status_code = 409


class InviteQuotaExceeded(ConvitesError):
    status_code = 429
    code = "invite_quota_exceeded"
    default_detail = _("You have created as many invites as you may today.")

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


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
    """Authenticating with a revoked token."""

    status_code = 401
    code = "token_revoked"
    default_detail = _("The token has been revoked.")


class TokenAlreadyRevoked(TokenRevoked):
    """Rotating a revoked token."""

    status_code = 409


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
    status_code = 401
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


class OtpRejected(OtpInvalid):
    """A wrong two-factor code sent to a two-factor endpoint (400; at login it is 401)."""

    status_code = 400


class OtpLocked(ConvitesError):
    """``TOTP_FAILURE_LIMIT`` wrong two-factor codes in a row: every code, a right one too, is refused
    until ``TOTP_LOCKOUT`` has passed or an admin unlocks the user. ``retry_after``: the seconds left."""

    status_code = 429
    code = "otp_locked"
    default_detail = _("Too many wrong two-factor codes in a row: codes are refused for a while.")

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


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


def is_database_locked(exc: BaseException | None) -> bool:
    """Whether ``exc`` is SQLite's locked-database error (an ``OperationalError`` saying "database is
    locked" or "database table is locked"). Any other error, ``OperationalError`` or not, is not."""
    return isinstance(exc, OperationalError) and bool(_DATABASE_LOCKED.search(str(exc)))
