"""Authentication codes: short numeric one-time codes for step-up and verification (docs/auth-codes.rst).

A code is ``AUTH_CODE_LENGTH`` digits from :func:`secrets.randbelow`, delivered by ``AUTH_CODE_SENDER``
and stored only as an HMAC-SHA256 keyed with a key derived from ``SECRET_KEY``. A user has one live
code at a time: a new one replaces the earlier unspent ones, and :func:`validate` checks the newest.

Every change that must happen once is one conditional ``UPDATE`` whose row count decides: claiming the
user's send slot (cooldown and lockout), spending a code, counting a wrong try on the code (at most
:data:`~django_convites.models.auth_codes.MAX_ATTEMPTS`) and on the user (the lockout after
``AUTH_CODE_FAILURE_LIMIT`` in a row). Failed tries are counted outside any transaction the caller holds
(:func:`~django_convites._db.deferred.run_despite_rollback`), so a rolled-back request keeps them.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from django.db import router, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_convites import policy, signals, tokens
from django_convites._db.batches import delete_in_batches
from django_convites._db.deferred import run_despite_rollback
from django_convites.conf import app_settings
from django_convites.exceptions import (
    CodeCooldown,
    CodeExpired,
    CodeInvalid,
    CodeLocked,
    CodeUsed,
    ConvitesError,
    InvalidField,
)
from django_convites.models import AuthCode, AuthCodeLimit
from django_convites.models.auth_codes import MAX_ATTEMPTS
from django_convites.net import RequestMeta

#: The purpose of a code when the caller names none.
DEFAULT_PURPOSE = "verificacao"
PURPOSE_MAX_LENGTH = 32
_PURPOSE = re.compile(r"[A-Za-z0-9_.:-]{1,32}\Z")
_KEY_SALT = b"django_convites.auth_codes"


@dataclass(frozen=True)
class IssuedCode:
    """A new code and the row that stands for it. The code is for the sender only; it is not stored."""

    auth_code: AuthCode
    code: str = field(repr=False)
    #: What the sender answered: ``"email"``, ``"sms"``, ...
    channel: str


# -- codes and digests ------------------------------------------------------------------------------------


def code_digest(user_pk: Any, code: str) -> str:
    """HMAC-SHA256 of ``code`` for the user ``user_pk``, keyed from ``SECRET_KEY``: what the database stores."""
    return hmac.new(tokens.derived_key(_KEY_SALT), f"{user_pk}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code(length: int | None = None) -> str:
    """``length`` (``AUTH_CODE_LENGTH``) random digits, zero-padded."""
    length = length or app_settings.AUTH_CODE_LENGTH
    return f"{secrets.randbelow(10**length):0{length}d}"


def is_well_formed(code: object) -> TypeGuard[str]:
    """Exactly ``AUTH_CODE_LENGTH`` ASCII digits (no full-width digits, signs, spaces or underscores)."""
    length = app_settings.AUTH_CODE_LENGTH
    return isinstance(code, str) and len(code) == length and code.isascii() and code.isdigit()


def check_purpose(purpose: object) -> str:
    """``purpose`` if it may name what a code is for: 1 to 32 letters, digits, ``_ . : -``; else 400."""
    if not isinstance(purpose, str) or not _PURPOSE.match(purpose) or tokens.TOKEN_LIKE.search(purpose):
        raise InvalidField(
            "finalidade", _("Use 1 to 32 letters, digits, '_', '.', ':' or '-'; not something shaped like a token.")
        )
    return purpose


def _seconds_until(moment: datetime.datetime, now: datetime.datetime) -> int:
    return max(math.ceil((moment - now).total_seconds()), 1)


# -- issuing ----------------------------------------------------------------------------------------------


def _limit_row(user: Any) -> None:
    """Create the user's limit row if it is missing, outside any transaction of ours, so the issuing
    transaction only takes its row lock."""
    AuthCodeLimit.objects.bulk_create([AuthCodeLimit(user=user)], ignore_conflicts=True)


def _refusal(user: Any) -> CodeCooldown:
    """Why the send slot was not free: a lockout or the cooldown, with the seconds to wait."""
    now = timezone.now()
    row = AuthCodeLimit.objects.filter(user=user).values("last_sent_at", "locked_until").first()
    locked_until = row["locked_until"] if row else None
    if locked_until is not None and locked_until > now:
        return CodeCooldown(
            _("Too many wrong codes in a row: no new code can be sent for a while."),
            retry_after=_seconds_until(locked_until, now),
        )
    last_sent_at = row["last_sent_at"] if row else None
    ready_at = (last_sent_at or now) + app_settings.AUTH_CODE_COOLDOWN
    return CodeCooldown(retry_after=_seconds_until(ready_at, now))


def issue(user: Any, *, purpose: str = DEFAULT_PURPOSE, meta: RequestMeta | None = None) -> IssuedCode:
    """Store a new code for ``user``, replacing their unspent ones, and hand it to ``AUTH_CODE_SENDER``.

    429 ``code_cooldown`` (with ``retry_after``) while the user's last code is younger than
    ``AUTH_CODE_COOLDOWN`` or a lockout runs. Claiming the send slot is one conditional ``UPDATE`` of
    the user's :class:`AuthCodeLimit` row, so of any number of parallel requests one sends a code. The
    sender runs inside the transaction: if it raises (409 ``code_undeliverable``, or anything else),
    the code, the replacement and the claimed slot are all rolled back. An API token may not ask for a
    code (403 ``interactive_login_required``): codes are for a person's step-up.
    """
    policy.require(user, policy.Act.REQUEST_AUTH_CODE)
    purpose = check_purpose(purpose)
    _limit_row(user)
    sender = app_settings.AUTH_CODE_SENDER
    code = new_code()
    with transaction.atomic(using=router.db_for_write(AuthCode)):
        now = timezone.now()
        free = (Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=now - app_settings.AUTH_CODE_COOLDOWN)) & (
            Q(locked_until__isnull=True) | Q(locked_until__lte=now)
        )
        claimed = AuthCodeLimit.objects.filter(free, user=user).update(last_sent_at=now)
        if claimed:
            # Read the clock again now that the row lock is ours: a racing request that stored a code
            # before us did so earlier, so the newest code is the one stored last.
            now = timezone.now()
            AuthCode.objects.filter(user=user, used_at__isnull=True, replaced_at__isnull=True).update(replaced_at=now)
            auth_code = AuthCode.objects.create(
                user=user,
                digest=code_digest(user.pk, code),
                purpose=purpose,
                created_at=now,
                expires_at=now + app_settings.AUTH_CODE_LIFETIME,
            )
            channel = str(sender(user, code, purpose))[:32]
            AuthCode.objects.filter(pk=auth_code.pk).update(channel=channel)
            auth_code.channel = channel
            signals.auth_code_issued.send(
                sender=AuthCode,
                actor=user,
                target=auth_code,
                meta=meta,
                details={"finalidade": purpose, "canal": channel},
            )
    if not claimed:
        raise _refusal(user)
    return IssuedCode(auth_code=auth_code, code=code, channel=channel)


# -- validating -------------------------------------------------------------------------------------------


def newest_code(user: Any) -> AuthCode | None:
    """The user's live code: the newest one no later code has replaced."""
    return AuthCode.objects.filter(user=user, replaced_at__isnull=True).order_by("-created_at", "-id").first()


def _unusable(auth_code: AuthCode, now: datetime.datetime) -> ConvitesError | None:
    if auth_code.used_at is not None:
        return CodeUsed()
    if auth_code.attempts >= MAX_ATTEMPTS:
        return CodeLocked()
    if auth_code.expires_at <= now:
        return CodeExpired()
    return None


def _fail(
    user: Any, auth_code: AuthCode | None, error: ConvitesError, meta: RequestMeta | None, **extra: Any
) -> ConvitesError:
    details: dict[str, Any] = {"motivo": error.code}
    if auth_code is not None:
        details["finalidade"] = auth_code.purpose
    details.update(extra)
    signals.auth_code_failed.send(sender=AuthCode, actor=user, target=auth_code, meta=meta, details=details)
    return error


def _count_user_failure(user: Any) -> bool:
    """One more wrong code in a row for ``user``; start the lockout at the limit. Whether it started."""
    AuthCodeLimit.objects.filter(user=user).update(consecutive_failures=F("consecutive_failures") + 1)
    now = timezone.now()
    # A separate conditional UPDATE (MySQL evaluates SET clauses left to right, so one statement setting
    # both columns from the old count is not portable). Of racing requests, one starts the lockout.
    return bool(
        AuthCodeLimit.objects.filter(user=user, consecutive_failures__gte=app_settings.AUTH_CODE_FAILURE_LIMIT).update(
            consecutive_failures=0, locked_until=now + app_settings.AUTH_CODE_LOCKOUT
        )
    )


def _count_wrong_try(user: Any, auth_code: AuthCode | None) -> tuple[bool, bool]:
    """Count a wrong try against ``auth_code`` (at most ``MAX_ATTEMPTS``, however many race) and, when it
    counted, against the user. ``(counted, lockout began)``.

    Runs outside the caller's transaction; inside one the write waits for it to end, and the answer
    assumes the try counted (the conditional UPDATE still keeps the cap)."""
    outcome: dict[str, bool] = {}

    def count() -> None:
        counted = True
        if auth_code is not None:
            counted = bool(
                AuthCode.objects.filter(
                    pk=auth_code.pk, used_at__isnull=True, replaced_at__isnull=True, attempts__lt=MAX_ATTEMPTS
                ).update(attempts=F("attempts") + 1)
            )
        outcome["counted"] = counted
        outcome["locked"] = _count_user_failure(user) if counted else False

    run_despite_rollback(count, using=router.db_for_write(AuthCodeLimit))
    return outcome.get("counted", True), outcome.get("locked", False)


class _NotSpent(Exception):
    """Rolls the spend's transaction back when its UPDATE matched no row."""


def validate(user: Any, code: object, *, meta: RequestMeta | None = None) -> AuthCode:
    """Spend ``user``'s newest live code if ``code`` is it; the spent :class:`AuthCode` row.

    400 ``code_invalid`` for a wrong or malformed code (one wrong try of the code and of the user), and
    when the user has no code; 410 ``code_used``, ``code_expired``, or ``code_locked`` once the code took
    :data:`MAX_ATTEMPTS` wrong tries (the fifth wrong try itself is still a 400). Spending is one
    conditional ``UPDATE``: of any number of parallel requests with the right code, one passes. A right
    code resets the user's count of wrong codes in a row. An API token may not spend a code (403
    ``interactive_login_required``).
    """
    policy.require(user, policy.Act.REQUEST_AUTH_CODE)
    auth_code = newest_code(user)
    if auth_code is None:
        raise _fail(user, None, CodeInvalid(), meta)
    now = timezone.now()
    error = _unusable(auth_code, now)
    if error is not None:
        raise _fail(user, auth_code, error, meta, tentativas=auth_code.attempts)
    right = is_well_formed(code) and hmac.compare_digest(code_digest(user.pk, code), auth_code.digest)
    if right:
        try:
            with transaction.atomic(using=router.db_for_write(AuthCode)):
                # The user's limit row first, in the order issuing takes the two, so a parallel issue and
                # this spend queue instead of deadlocking. A right code ends the run of wrong ones; when
                # the spend fails, the reset rolls back with it.
                AuthCodeLimit.objects.filter(user=user).update(consecutive_failures=0)
                spent = AuthCode.objects.filter(
                    pk=auth_code.pk,
                    used_at__isnull=True,
                    replaced_at__isnull=True,
                    attempts__lt=MAX_ATTEMPTS,
                    expires_at__gt=now,
                ).update(used_at=now)
                if not spent:
                    raise _NotSpent()
                auth_code.used_at = now
                signals.auth_code_validated.send(
                    sender=AuthCode, actor=user, target=auth_code, meta=meta, details={"finalidade": auth_code.purpose}
                )
            return auth_code
        except _NotSpent:
            pass
        # Another request spent it (or locked it, or it was replaced) between the read and the UPDATE.
        auth_code.refresh_from_db()
        error = _unusable(auth_code, now) or (CodeInvalid() if auth_code.replaced_at else CodeUsed())
        raise _fail(user, auth_code, error, meta, tentativas=auth_code.attempts)
    counted, locked = _count_wrong_try(user, auth_code)
    if not counted:
        # Racing wrong tries used up the code's tries, or a racing right one spent it.
        auth_code.refresh_from_db()
        error = _unusable(auth_code, now) or CodeInvalid()
        raise _fail(user, auth_code, error, meta, tentativas=auth_code.attempts)
    extra: dict[str, Any] = {"tentativas": min(auth_code.attempts + 1, MAX_ATTEMPTS)}
    if locked:
        extra["bloqueio"] = True
    raise _fail(user, auth_code, CodeInvalid(), meta, **extra)


# -- housekeeping -----------------------------------------------------------------------------------------


def purge_expired(*, batch_size: int = 1000, now: datetime.datetime | None = None) -> int:
    """Delete codes past their expiry (spent, replaced or not), in batches; how many were deleted.

    Batches are taken in primary-key order, where the oldest, expired codes come first."""
    return delete_in_batches(AuthCode.objects.filter(expires_at__lte=now or timezone.now()), batch_size)
