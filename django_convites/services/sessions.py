"""JWT sessions: log in, refresh, log out, list and end sessions (docs/sessions.rst).

A login starts a :class:`~django_convites.models.SessionFamily` and returns a short access token (a JWT,
:mod:`django_convites.jwt_codec`) and an opaque ``cvr_`` refresh token. A refresh spends the refresh
token with one conditional ``UPDATE`` and hands out a new pair; presenting a spent one again means it was
stolen or replayed, and the whole family is revoked by one set-based ``UPDATE`` that survives the failed
request. Access tokens name their family, and the one query that loads their user also checks that the
family is live, so ending a family stops its access tokens at once.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import functools
import hashlib
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import authenticate as django_authenticate
from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from django_convites import jwt_codec, signals, tokens
from django_convites._db.batches import delete_in_batches
from django_convites._db.deferred import run_despite_rollback
from django_convites._db.user_rows import UserRowLookup
from django_convites.conf import app_settings, register_cache
from django_convites.exceptions import (
    ConvitesError,
    InactiveUser,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    OtpInvalid,
    OtpLocked,
    OtpRequired,
    TokenExpired,
    TokenReused,
    TokenRevoked,
)
from django_convites.models import RefreshToken, SessionFamily
from django_convites.net import RequestMeta, request_meta
from django_convites.services import two_factor


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh returns. The refresh secret exists only here."""

    access: str = field(repr=False)
    refresh: str = field(repr=False)
    access_expires_at: datetime.datetime
    refresh_expires_at: datetime.datetime
    family: SessionFamily

    @property
    def session_expires_at(self) -> datetime.datetime:
        """The absolute end of the session: no pair of it is good after this (``sessao_expira_em``)."""
        return session_end(self.family)


def session_end(family: SessionFamily) -> datetime.datetime:
    """When ``family`` ends whatever its refreshes: fixed at the login by ``SESSION_MAX_LIFETIME``."""
    if family.expires_at is not None:
        return family.expires_at
    return family.created_at + app_settings.SESSION_MAX_LIFETIME  # a row older than the field


# -- usernames --------------------------------------------------------------------------------------------


def normalize_username(value: object) -> str:
    """The username a login hands to ``authenticate()``: the string sent, in Unicode NFKC form, as
    Django's login form and ``AbstractBaseUser.normalize_username`` make it. :class:`TypeError` for
    anything but a string (a JSON number is not a username)."""
    if not isinstance(value, str):
        raise TypeError("a username must be a string")
    return unicodedata.normalize("NFKC", value)


def username_key(value: object) -> str | None:
    """The key the per-username login throttle counts under: a digest of :func:`normalize_username`,
    trimmed and case-folded, so every spelling of one username shares a budget. None for no username."""
    try:
        username = normalize_username(value).strip().casefold()
    except TypeError:
        return None
    if not username:
        return None
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()


#: True while :func:`login` runs Django's ``authenticate()``: the ``user_login_failed`` receiver leaves
#: the audit to :func:`login`, so one failed JWT login writes one ``login_falhou``.
_in_jwt_login: contextvars.ContextVar[bool] = contextvars.ContextVar("convites_jwt_login", default=False)


# -- logging in -------------------------------------------------------------------------------------------


def has_second_factor(user: Any) -> bool:
    """Whether ``user`` has a confirmed two-factor device (then a login needs a code)."""
    return two_factor.has_device(user)


def verify_second_factor(user: Any, code: object, *, meta: RequestMeta | None = None) -> bool:
    """Whether ``code`` is a current code of one of ``user``'s confirmed TOTP devices, or one of their
    backup codes, used once: the time step or the backup code is spent by a conditional UPDATE, so one
    code cannot pass two concurrent logins. A wrong code counts against the user's cap on wrong codes in
    a row, shared with the API and the pages; past it, 429 ``otp_locked``."""
    return two_factor.verify_user(user, code, meta=meta)


@sensitive_variables("password", "otp")
def login(
    *,
    username: str,
    password: str,
    otp: object = None,
    meta: RequestMeta | None = None,
    auth_request: Any = None,
) -> TokenPair:
    """Check the credentials (Django's ``authenticate``, so the site's backends apply), then the second
    factor when the user has one, and start a session. ``auth_request`` is handed to the backends only.
    The session ends ``SESSION_MAX_LIFETIME`` after now, however often it is refreshed."""
    username = normalize_username(username)
    marker = _in_jwt_login.set(True)
    try:
        user = django_authenticate(auth_request, username=username, password=password)
    finally:
        _in_jwt_login.reset(marker)
    if user is None:
        raise _login_failed(None, username, InvalidCredentials(), meta)
    two_factor_proved = False
    if has_second_factor(user):
        if otp in (None, ""):
            raise _login_failed(user, username, OtpRequired(), meta)
        try:
            proved = verify_second_factor(user, otp, meta=meta)
        except OtpLocked as error:
            raise _login_failed(user, username, error, meta) from None
        if not proved:
            raise _login_failed(user, username, OtpInvalid(), meta)
        two_factor_proved = True
    return start_session(user, meta=meta, two_factor=two_factor_proved)


def start_session(user: Any, *, meta: RequestMeta | None = None, two_factor: bool = False) -> TokenPair:
    """Open a session (a family and its first pair) for ``user``, whom the caller has authenticated
    already (a login, or a sign-up that just created them); audited as ``login``. ``two_factor``: a second
    factor was proved. The session ends ``SESSION_MAX_LIFETIME`` after now, however often it is refreshed."""
    now = timezone.now()
    with transaction.atomic():
        family = SessionFamily.objects.create(
            user=user,
            created_at=now,
            expires_at=now + app_settings.SESSION_MAX_LIFETIME,
            ip=meta.ip if meta else None,
            user_agent=meta.user_agent if meta else "",
            two_factor=two_factor,
        )
        pair = _issue_pair(family, user.pk, now)
        signals.login_succeeded.send(sender=SessionFamily, actor=user, target=family, meta=meta, details={})
    return pair


def _login_failed(user: Any, username: str, error: ConvitesError, meta: RequestMeta | None) -> ConvitesError:
    details = {"motivo": error.code, "usuario_informado": str(username)[:150]}
    signals.login_failed.send(sender=SessionFamily, actor=user, meta=meta, details=details)
    return error


def _issue_pair(
    family: SessionFamily, user_id: Any, now: datetime.datetime, parent: RefreshToken | None = None
) -> TokenPair:
    """A new pair of ``family``; neither token outlives the family's absolute end."""
    ends_at = session_end(family)
    secret = tokens.generate(tokens.Kind.REFRESH)
    refresh = RefreshToken.objects.create(
        family=family,
        parent=parent,
        digest=tokens.digest(secret),
        created_at=now,
        expires_at=min(now + app_settings.REFRESH_TOKEN_LIFETIME, ends_at),
    )
    access, access_expires_at = jwt_codec.encode(
        user_id, family.pk, now, two_factor=family.two_factor, not_after=ends_at
    )
    return TokenPair(
        access=access,
        refresh=secret,
        access_expires_at=access_expires_at,
        refresh_expires_at=refresh.expires_at,
        family=family,
    )


# -- refreshing and logging out ---------------------------------------------------------------------------


def _find_refresh(secret: object) -> RefreshToken:
    try:
        parsed = tokens.parse(secret, tokens.Kind.REFRESH)
    except tokens.MalformedToken:
        raise InvalidToken() from None
    token = RefreshToken.objects.select_related("family__user").filter(digest=parsed.digest).first()
    if token is None:
        raise InvalidToken()
    return token


def refresh(secret: object, *, meta: RequestMeta | None = None) -> TokenPair:
    """Spend the refresh token ``secret`` for a new pair, exactly once however many requests race.

    A spent token presented again revokes its family (401 ``token_reused``), unless
    ``REFRESH_GRACE_PERIOD`` is set and it is the immediate predecessor of the family's live token,
    presented within that many seconds: then the live token is spent in its place.

    Past the family's absolute end (``SESSION_MAX_LIFETIME`` after the login) it is 401 ``token_expired``;
    for a user who is no longer active, 401 and the family is revoked.
    """
    token = _find_refresh(secret)
    family = token.family
    if family.revoked_at is not None:
        raise TokenRevoked()
    if not getattr(family.user, "is_active", True):
        raise _revoke_for_inactive_user(family, meta)
    now = timezone.now()
    if session_end(family) <= now or (token.used_at is None and token.expires_at <= now):
        raise TokenExpired()
    spend = token
    if token.used_at is not None:
        successor = _graced_successor(token, now)
        if successor is None:
            raise _revoke_for_reuse(family, now, meta)
        spend = successor
    with transaction.atomic():
        spent = RefreshToken.objects.filter(pk=spend.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
        if spent:
            live = SessionFamily.objects.filter(pk=family.pk, revoked_at__isnull=True).update(
                last_refreshed_at=now, ip=meta.ip if meta else family.ip, user_agent=meta.user_agent if meta else ""
            )
            if not live:
                raise TokenRevoked()
            pair = _issue_pair(family, family.user_id, now, parent=token)
            signals.token_refreshed.send(sender=SessionFamily, actor=family.user, target=family, meta=meta, details={})
            return pair
    # Another request spent it between the read and the UPDATE: that is a reuse too.
    raise _revoke_for_reuse(family, now, meta)


def _graced_successor(token: RefreshToken, now: datetime.datetime) -> RefreshToken | None:
    grace = app_settings.REFRESH_GRACE_PERIOD
    if not grace or token.used_at is None or token.used_at <= now - grace:
        return None
    return RefreshToken.objects.filter(family_id=token.family_id, parent=token, used_at__isnull=True).first()


def _revoke_for_reuse(family: SessionFamily, now: datetime.datetime, meta: RequestMeta | None) -> TokenReused:
    """Revoke the family in one UPDATE that outlives the failed request and record it; the error to raise."""

    def revoke() -> None:
        SessionFamily.objects.filter(pk=family.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason="reuso"
        )

    run_despite_rollback(revoke, using=router.db_for_write(SessionFamily))
    signals.refresh_reused.send(sender=SessionFamily, actor=family.user, target=family, meta=meta, details={})
    return TokenReused()


def _revoke_for_inactive_user(family: SessionFamily, meta: RequestMeta | None) -> InactiveUser:
    """Revoke the family of a user deactivated behind the app's back (``QuerySet.update()``, a directory
    sync), in one UPDATE that outlives the failed request, with its event; the error to raise."""

    def revoke() -> None:
        end_session(family, actor=None, reason="usuario_desativado", meta=meta)

    run_despite_rollback(revoke, using=router.db_for_write(SessionFamily))
    return InactiveUser()


def logout(secret: object, *, meta: RequestMeta | None = None) -> SessionFamily:
    """End the family of the refresh token ``secret`` (spent or not): 401 when it is no refresh token."""
    token = _find_refresh(secret)
    end_session(token.family, actor=token.family.user, reason="logout", meta=meta)
    return token.family


def end_session(family: SessionFamily, *, actor: Any, reason: str, meta: RequestMeta | None = None) -> bool:
    """Revoke one family; False when it was revoked already (nothing is recorded then)."""
    now = timezone.now()
    with transaction.atomic():
        revoked = SessionFamily.objects.filter(pk=family.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        if revoked:
            family.revoked_at, family.revoked_reason = now, reason
            signals.session_revoked.send(
                sender=SessionFamily, actor=actor, target=family, meta=meta, details={"motivo": reason}
            )
    return bool(revoked)


def end_all_sessions(user: Any, *, reason: str, actor: Any = None, meta: RequestMeta | None = None) -> int:
    """Revoke every live family of ``user`` in one UPDATE (a password change, a deactivation)."""
    now = timezone.now()
    with transaction.atomic():
        ended = SessionFamily.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        if ended:
            signals.session_revoked.send(
                sender=SessionFamily, actor=actor, target=None, meta=meta, details={"motivo": reason, "sessoes": ended}
            )
    return ended


def end_sessions_for_new_factor(user: Any, *, keep: Any = None) -> int:
    """A second factor was added: revoke every live session of ``user`` but ``keep`` (the id of the one
    that confirmed it, if a JWT session did) in one UPDATE (``motivo`` ``2fa_ativado``), and count ``keep``
    as a session that proved the second factor from now on. Quiet: the caller's ``2fa_ativado`` event
    carries the count. The number of sessions ended."""
    with transaction.atomic():
        others = sessions_of(user)
        if keep is not None:
            SessionFamily.objects.filter(pk=keep, user=user, revoked_at__isnull=True).update(two_factor=True)
            others = others.exclude(pk=keep)
        return others.update(revoked_at=timezone.now(), revoked_reason="2fa_ativado")


def end_sessions_on_two_factor(sender: Any, *, user: Any, keep_session: Any = None, **kwargs: Any) -> dict[str, int]:
    """Receiver of :data:`~django_convites.signals.two_factor_enabling`: :func:`end_sessions_for_new_factor`."""
    return {"sessoes_encerradas": end_sessions_for_new_factor(user, keep=keep_session)}


def sessions_of(user: Any) -> QuerySet[SessionFamily]:
    """``user``'s live sessions (not revoked, not past their end), newest first."""
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return SessionFamily.objects.filter(live, user=user, revoked_at__isnull=True)


def end_own_session(user: Any, family_id: Any, *, meta: RequestMeta | None = None) -> None:
    """End one of ``user``'s sessions; 404 for someone else's (or an unknown id)."""
    try:
        key = uuid.UUID(str(family_id))
    except ValueError:
        raise NotFound() from None
    family = SessionFamily.objects.filter(pk=key, user=user).first()
    if family is None:
        raise NotFound()
    end_session(family, actor=user, reason="usuario", meta=meta)


def purge_expired(*, batch_size: int = 1000, now: datetime.datetime | None = None) -> tuple[int, int]:
    """Delete refresh tokens past their expiry, then families with no token left that are revoked or
    idle past the refresh lifetime; in batches. Returns (tokens, families) deleted."""
    now = now or timezone.now()
    tokens_deleted = delete_in_batches(RefreshToken.objects.filter(expires_at__lte=now), batch_size)
    stale = SessionFamily.objects.filter(refresh_tokens__isnull=True).filter(
        created_at__lte=now - app_settings.REFRESH_TOKEN_LIFETIME
    )
    families_deleted = delete_in_batches(stale, batch_size)
    return tokens_deleted, families_deleted


# -- authenticating a request -----------------------------------------------------------------------------


@register_cache
@functools.cache
def _lookup(alias: str) -> UserRowLookup:
    return UserRowLookup(alias, SessionFamily, ("id", "two_factor"), ("id",), null=("revoked_at",), match_user=True)


def authenticate_access_token(token: str) -> tuple[Any, jwt_codec.AccessClaims]:
    """The user behind a valid access token of a live family: no query for a bad token, one otherwise.

    Whether the session proved a second factor is the family's word, read by that same query: a session
    in which two-factor authentication was turned on counts as verified at once, though its current
    access token was signed with ``amr: ["pwd"]`` (the next refresh signs ``["pwd", "otp"]``)."""
    claims = jwt_codec.decode(token)
    try:
        found = _lookup(router.db_for_read(SessionFamily)).fetch(claims.family_id, claims.user_id)
    except (ValidationError, ValueError, TypeError):  # a sub that is no primary key of this user model
        raise InvalidToken() from None
    if found is None:
        raise TokenRevoked()
    (_, proved), user = found
    if not user.is_active:
        raise InvalidToken()
    if proved and not claims.two_factor:
        claims = dataclasses.replace(claims, two_factor=True)
    return user, claims


# -- credentials changing under a session -----------------------------------------------------------------

_OLD_ATTR = "_convites_old_credentials"


def remember_credentials(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """``pre_save`` of the user model: note the stored password and ``is_active`` before they change."""
    if instance._state.adding or instance.pk is None:
        return
    watched = [name for name in ("password", "is_active") if any(f.name == name for f in sender._meta.concrete_fields)]
    if not watched or (update_fields is not None and not set(watched) & set(update_fields)):
        return
    old = sender._default_manager.filter(pk=instance.pk).values(*watched).first()
    if old is not None:
        setattr(instance, _OLD_ATTR, old)


def end_sessions_on_credential_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_save`` of the user model: a new password or a deactivation ends every session of the user."""
    old = instance.__dict__.pop(_OLD_ATTR, None)
    if old is None:
        return
    if "password" in old and old["password"] != instance.password:
        end_all_sessions(instance, reason="senha_alterada")
    elif old.get("is_active") and not getattr(instance, "is_active", True):
        end_all_sessions(instance, reason="usuario_desativado")


# -- logins to Django sessions ----------------------------------------------------------------------------


def _meta_of(request: Any) -> RequestMeta | None:
    return request_meta(request) if isinstance(request, HttpRequest) else None


def audit_session_login(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """``user_logged_in``: a login to a Django session (any login page of the site, the admin's included)
    writes the same ``login`` event as a JWT login, with ``details["via"] = "django"`` and no target."""
    signals.login_succeeded.send(
        sender=SessionFamily, actor=user, target=None, meta=_meta_of(request), details={"via": "django"}
    )


def audit_failed_login(sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any) -> None:
    """``user_login_failed``: a refused ``authenticate()`` (a login page, the admin, DRF's basic auth...)
    writes ``login_falhou`` with the username sent and ``details["via"] = "django"`` (the audit redacts it
    if it looks like a token; the password is never read). A JWT login records its own failure, so it is
    skipped here."""
    if _in_jwt_login.get():
        return
    credentials = credentials if isinstance(credentials, dict) else {}
    username = credentials.get("username", credentials.get(_username_field(), ""))
    details = {"motivo": InvalidCredentials.code, "usuario_informado": str(username)[:150], "via": "django"}
    signals.login_failed.send(sender=SessionFamily, actor=None, meta=_meta_of(request), details=details)


def _username_field() -> str:
    from django.contrib.auth import get_user_model

    return str(getattr(get_user_model(), "USERNAME_FIELD", "username"))
