"""API tokens: create, revoke, rotate, list, and authenticate a request with one (docs/api-tokens.rst).

:func:`authenticate` is the hot path of every request that carries ``Authorization: Bearer cvp_...``. It
checks the grammar first (a malformed token costs no query), then runs one indexed query that brings the
token's state and its user together, in SQL the ORM compiles once per database (:func:`_lookup`)
instead of building the query again on every request. The only write is the last-used time, at most once a
minute per token, by a conditional ``UPDATE`` that also decides who records the access in the audit log.
A refused token writes nothing either, but once a minute per token and reason: its refusals are coalesced
in the cache (:mod:`django_convites.coalesce`).
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_convites import policy, signals, tokens
from django_convites._db.user_rows import UserRowLookup
from django_convites.audit import Target, events_for
from django_convites.coalesce import refusal_window
from django_convites.conf import app_settings, register_cache
from django_convites.exceptions import (
    ConvitesError,
    InactiveUser,
    InsufficientScope,
    InvalidField,
    InvalidToken,
    IPNotAllowed,
    NotFound,
    ScopeNotAllowed,
    TokenExpired,
    TokenRevoked,
)
from django_convites.models import ApiToken, AuditEvent, Scope
from django_convites.net import RequestMeta
from django_convites.policy import Act, Credential, CredentialKind, Subject
from django_convites.roles import Action

#: The last-used time (and the access history) is written at most this often per token.
USAGE_INTERVAL = datetime.timedelta(minutes=1)
#: A token's refusals for one reason are recorded at most this often; those in between are counted, and
#: the next event records them in ``tentativas`` (:mod:`django_convites.coalesce`).
REFUSAL_INTERVAL = datetime.timedelta(minutes=1)
#: Most networks one token may list in ``ips_permitidos``.
MAX_ALLOWED_NETWORKS = 32


@dataclass(frozen=True)
class CreatedApiToken:
    """A new API token and its secret. Show the secret once; it is not stored anywhere."""

    token: ApiToken
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AuthenticatedToken:
    """What a request authenticated by an API token carries as ``request.auth``."""

    id: uuid.UUID
    scope: Scope


# -- creating and managing --------------------------------------------------------------------------------


def _deny(actor: Any, meta: RequestMeta | None, reason: str, target: Any = None) -> None:
    signals.api_token_denied.send(sender=ApiToken, actor=actor, target=target, meta=meta, details={"motivo": reason})


def subject(token: ApiToken, *, with_scope: bool = False) -> Subject:
    """What the policy is told about ``token``: its owner, and its scope when the action hands out a
    token of that scope (a rotation)."""
    return Subject(owner_id=token.user_id, scope=Scope(token.scope) if with_scope else None)


def _require(actor: Any, action: Act, token: ApiToken, meta: RequestMeta | None) -> None:
    """Ask the policy; a refusal is audited (``api_token_negado`` with the reason) and raised."""
    try:
        policy.require(actor, action, subject(token, with_scope=action is Act.ROTATE_API_TOKEN))
    except ConvitesError as error:
        _deny(actor, meta, error.code, token)
        raise


def expiry(requested: datetime.datetime | None, now: datetime.datetime) -> datetime.datetime | None:
    """When a token asked to expire at ``requested`` expires: in the future, and no later than
    ``API_TOKEN_MAX_LIFETIME`` from ``now`` (which is also the default); None only when the setting
    lets tokens live for ever and none was asked."""
    longest = app_settings.API_TOKEN_MAX_LIFETIME
    if requested is None:
        return None if longest is None else now + longest
    if requested <= now:
        raise InvalidField("expira_em", _("Must be in the future."))
    if longest is not None and requested > now + longest:
        days = f"{longest.total_seconds() / 86400:g}"
        raise InvalidField("expira_em", _("Must be at most %(days)s days from now.") % {"days": days})
    return requested


def normalize_networks(values: Iterable[Any]) -> list[str]:
    """``values`` as CIDR strings (``"10.0.0.1"`` becomes ``"10.0.0.1/32"``); :class:`InvalidField` if not."""
    values = list(values)
    if len(values) > MAX_ALLOWED_NETWORKS:
        raise InvalidField("ips_permitidos", _("At most %(count)d networks.") % {"count": MAX_ALLOWED_NETWORKS})
    networks: list[str] = []
    for value in values:
        try:
            network = str(ipaddress.ip_network(value, strict=False)) if isinstance(value, str) else None
        except ValueError:
            network = None
        if network is None:
            raise InvalidField("ips_permitidos", _("Each entry must be an IP address or a network in CIDR form."))
        if network not in networks:
            networks.append(network)
    return networks


def create_api_token(
    *,
    user: Any,
    scope: Scope | str,
    name: str = "",
    expires_at: datetime.datetime | None = None,
    allowed_ips: Iterable[Any] = (),
    meta: RequestMeta | None = None,
) -> CreatedApiToken:
    """Create a token for ``user``. ``admin`` needs a role that may hold it, and a request authenticated by
    a token may not mint a wider scope than its own (403 ``scope_not_allowed``). The lifetime is capped
    by ``API_TOKEN_MAX_LIFETIME``."""
    if scope not in Scope.values:
        raise InvalidField("scope", _("Use read, write or admin."))
    scope = Scope(scope)
    action = Action.CREATE_ADMIN_API_TOKEN if scope is Scope.ADMIN else Action.CREATE_API_TOKEN
    if not policy.decide(user, action, Subject(owner_id=user.pk, scope=scope)):
        _deny(user, meta, ScopeNotAllowed.code)
        raise ScopeNotAllowed()
    now = timezone.now()
    expires_at = expiry(expires_at, now)
    networks = normalize_networks(allowed_ips)
    return _issue(user=user, scope=scope, name=name, expires_at=expires_at, networks=networks, now=now, meta=meta)


def _issue(
    *,
    user: Any,
    scope: Scope,
    name: str,
    expires_at: datetime.datetime | None,
    networks: Sequence[str],
    now: datetime.datetime,
    meta: RequestMeta | None,
    rotated_from: ApiToken | None = None,
) -> CreatedApiToken:
    secret = tokens.generate(tokens.Kind.API_TOKEN)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            scope=scope,
            digest=tokens.digest(secret),
            prefix=tokens.display_prefix(secret),
            allowed_ips=list(networks),
            created_at=now,
            expires_at=expires_at,
            rotated_from=rotated_from,
        )
        if rotated_from is not None:
            return CreatedApiToken(token=token, secret=secret)  # the rotation's one event records it
        signals.api_token_issued.send(
            sender=ApiToken,
            actor=user,
            target=token,
            meta=meta,
            details={
                "scope": scope.value,
                "nome": name,
                "expira_em": expires_at.isoformat() if expires_at else None,
                "ips_permitidos": list(networks),
            },
        )
    return CreatedApiToken(token=token, secret=secret)


def api_tokens_visible_to(user: Any, *, owner_id: Any = None) -> QuerySet[ApiToken]:
    """``user``'s own tokens; root and admin may name another ``owner_id`` (403 for the others), within
    their organizations when they are confined."""
    if owner_id is not None and owner_id != user.pk:
        policy.require(user, Act.READ_API_TOKEN, Subject(owner_id=owner_id))
        return ApiToken.objects.filter(user_id=owner_id)
    return ApiToken.objects.filter(user=user)


def visible_api_token(user: Any, token_id: Any, action: Act = Act.READ_API_TOKEN) -> ApiToken:
    """The token ``token_id`` names if ``user`` may see it; 404 otherwise (no hint that it exists)."""
    try:
        key = uuid.UUID(str(token_id))
    except ValueError:
        raise NotFound() from None
    token = ApiToken.objects.filter(pk=key).first()
    if token is None or not policy.decide(user, action, subject(token)):
        raise NotFound()
    return token


def revoke_api_token(token_id: Any, *, actor: Any, meta: RequestMeta | None = None) -> ApiToken:
    """Revoke a token (the row is kept). Revoking a revoked token changes nothing and records nothing."""
    token = visible_api_token(actor, token_id)
    _require(actor, Act.REVOKE_API_TOKEN, token, meta)
    _revoke(token, actor=actor, meta=meta)
    return token


def _revoke(token: ApiToken, *, actor: Any, meta: RequestMeta | None) -> bool:
    now = timezone.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor)
        if revoked:
            token.revoked_at, token.revoked_by = now, actor
            signals.api_token_revoked.send(sender=ApiToken, actor=actor, target=token, meta=meta, details={})
    return bool(revoked)


def rotate_api_token(token_id: Any, *, actor: Any, meta: RequestMeta | None = None) -> CreatedApiToken:
    """Replace a token with a new one of the same owner, name, scope and networks, and the same lifetime
    counted from now (within ``API_TOKEN_MAX_LIFETIME``); the old one is revoked in the same transaction
    (409 if it was revoked already). Only the owner may rotate (403 ``not_owner``: a rotation hands out a
    working secret), and a token may not rotate one of a wider scope (403 ``scope_not_allowed``). One
    event, ``api_token_rotacionado``, names both tokens."""
    old = visible_api_token(actor, token_id)
    _require(actor, Act.ROTATE_API_TOKEN, old, meta)
    now = timezone.now()
    expires_at = _rotated_expiry(old, now)
    with transaction.atomic():
        if not ApiToken.objects.filter(pk=old.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=actor):
            raise TokenRevoked(status=409)
        created = _issue(
            user=old.user,
            scope=Scope(old.scope),
            name=old.name,
            expires_at=expires_at,
            networks=old.allowed_ips,
            now=now,
            meta=meta,
            rotated_from=old,
        )
        old.revoked_at, old.revoked_by = now, actor
        signals.api_token_rotated.send(
            sender=ApiToken,
            actor=actor,
            target=old,
            meta=meta,
            details={
                "novo": str(created.token.pk),
                "expira_em": expires_at.isoformat() if expires_at else None,
            },
        )
    return created


def _rotated_expiry(old: ApiToken, now: datetime.datetime) -> datetime.datetime | None:
    longest = app_settings.API_TOKEN_MAX_LIFETIME
    lifetime = (
        longest if old.expires_at is None else min(old.expires_at - old.created_at, longest or datetime.timedelta.max)
    )
    if lifetime is None:
        return None
    try:
        return now + lifetime
    except OverflowError:  # a token made to expire near year 9999, with no maximum set
        return old.expires_at


def api_token_history(user: Any, token_id: Any) -> QuerySet[AuditEvent]:
    """The audit events of a token ``user`` may manage: who used it, when, from where; newest first."""
    return events_for(visible_api_token(user, token_id, Act.READ_API_TOKEN_LOGS))


def bulk_revoke(tokens_: QuerySet[ApiToken], *, actor: Any = None, meta: RequestMeta | None = None) -> int:
    """Revoke every live token of ``tokens_`` one by one, each with its audit event; the count revoked.

    With an ``actor``, each token is one the policy lets them revoke (others are left as they are);
    without one (a management command), the site itself acts."""
    count = 0
    for token in tokens_.filter(revoked_at__isnull=True).order_by("created_at").iterator():
        if actor is not None and not policy.decide(actor, Act.REVOKE_API_TOKEN, subject(token)):
            continue
        count += _revoke(token, actor=actor, meta=meta)
    return count


def live_api_tokens(user: Any, *, now: datetime.datetime | None = None) -> QuerySet[ApiToken]:
    """``user``'s tokens that still authenticate: not revoked, not expired."""
    now = now or timezone.now()
    return ApiToken.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), user=user, revoked_at__isnull=True
    )


def revoke_for_new_factor(user: Any) -> int:
    """A second factor was added: revoke every live token of ``user`` in one UPDATE, by ``user``, and
    return how many. Quiet, unlike :func:`bulk_revoke`: the one ``2fa_ativado`` event of the change
    carries the count, and each token's row keeps when and by whom it was revoked."""
    now = timezone.now()
    return live_api_tokens(user, now=now).update(revoked_at=now, revoked_by=user)


def revoke_on_two_factor(sender: Any, *, user: Any, keep_api_tokens: bool = False, **kwargs: Any) -> dict[str, int]:
    """Receiver of :data:`~django_convites.signals.two_factor_enabling`: :func:`revoke_for_new_factor`,
    unless the user keeps their tokens."""
    return {"api_tokens_revogados": 0 if keep_api_tokens else revoke_for_new_factor(user)}


def stale_api_tokens(*, idle_for: datetime.timedelta, now: datetime.datetime | None = None) -> QuerySet[ApiToken]:
    """Live tokens created at least ``idle_for`` ago and never used since, or not used for ``idle_for``."""
    now = now or timezone.now()
    cutoff = now - idle_for
    live = ApiToken.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
    return live.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff), created_at__lte=cutoff)


# -- authenticating a request -----------------------------------------------------------------------------


@register_cache
@functools.cache
def _lookup(alias: str) -> UserRowLookup:
    return UserRowLookup(
        alias, ApiToken, ("id", "scope", "expires_at", "revoked_at", "last_used_at", "allowed_ips"), ("digest",)
    )


def _allowed(ip: str | None, networks: Sequence[str]) -> bool:
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(network) for network in networks)


def _nothing() -> None:
    return None


def authenticate(
    secret: str, *, client_ip: Any = _nothing, meta: Any = _nothing, now: datetime.datetime | None = None
) -> tuple[Any, AuthenticatedToken]:
    """The user and token behind ``secret``, or an error: :class:`InvalidToken` (malformed, with no query;
    unknown; inactive user), :class:`TokenExpired`, :class:`TokenRevoked`, :class:`IPNotAllowed`.

    ``client_ip`` and ``meta`` are callables (of no arguments), so the address is only worked out when a
    token needs it; left out, the token is checked as if it came from no known address.

    A refusal is recorded (``api_token_negado``) at most once per ``REFUSAL_INTERVAL`` per token and
    reason, with ``tentativas``; the refusals in between cost the one query and no write.
    """
    try:
        parsed = tokens.parse(secret, tokens.Kind.API_TOKEN)
    except tokens.MalformedToken:
        raise InvalidToken() from None
    found = _lookup(router.db_for_read(ApiToken)).fetch(parsed.digest)
    if found is None:
        raise InvalidToken()
    (token_id, scope, expires_at, revoked_at, last_used_at, networks), user = found
    now = now or timezone.now()
    target = Target(ApiToken.audit_target_type, str(token_id))
    error: ConvitesError | None = None
    if revoked_at is not None:
        error = TokenRevoked()
    elif expires_at is not None and expires_at <= now:
        error = TokenExpired()
    elif not user.is_active:
        error = InactiveUser()
    elif networks and not _allowed(client_ip(), networks):
        error = IPNotAllowed()
    if error is not None:
        reason = "user_inactive" if isinstance(error, InactiveUser) else error.code
        _refused(user, target, meta, {"motivo": reason})
        raise error
    if last_used_at is None or last_used_at <= now - USAGE_INTERVAL:
        _record_use(token_id, user, target, now, client_ip(), meta())
    policy.set_credential(user, Credential(CredentialKind.API_TOKEN, scope=Scope(scope), id=token_id))
    return user, AuthenticatedToken(id=token_id, scope=Scope(scope))


def _record_use(token_id: Any, user: Any, target: Target, now: datetime.datetime, ip: str | None, meta: Any) -> None:
    """Write the last-used time and one ``api_token_usado`` event, unless another request did in the last
    minute: the conditional ``UPDATE`` lets exactly one of concurrent requests through."""
    fresh = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - USAGE_INTERVAL)
    with transaction.atomic():
        if ApiToken.objects.filter(fresh, pk=token_id).update(last_used_at=now, last_used_ip=ip):
            signals.api_token_used.send(sender=ApiToken, actor=user, target=target, meta=meta, details={})


def require_scope(
    token: AuthenticatedToken,
    needed: Scope,
    *,
    actor: Any,
    meta: Callable[[], RequestMeta | None] = _nothing,
) -> None:
    """Let a request authenticated by ``token`` through when its scope covers ``needed``; else one
    ``api_token_negado`` event (``motivo: insufficient_scope``, ``necessario``: the scope) and 403
    :class:`InsufficientScope`, coalesced as :func:`authenticate`'s refusals are. ``meta`` is a callable, as
    for :func:`authenticate`: only a refusal that is recorded asks it."""
    if token.scope.covers(needed):
        return
    target = Target(ApiToken.audit_target_type, str(token.id))
    _refused(actor, target, meta, {"motivo": InsufficientScope.code, "necessario": needed.value})
    raise InsufficientScope()


def _refused(actor: Any, target: Target, meta: Callable[[], RequestMeta | None], details: dict[str, str]) -> None:
    """One ``api_token_negado`` event for the first refusal of a token for one reason (and scope needed)
    in ``REFUSAL_INTERVAL``, with ``tentativas``: the refusals it stands for, this one and those counted
    since the last one recorded. The others are only counted in the cache: no query, no write, and
    ``meta`` is not even asked."""
    key = ":".join(("api_token", target.id, *details.values()))
    count = refusal_window(key, int(REFUSAL_INTERVAL.total_seconds()))
    if count is not None:
        signals.api_token_denied.send(
            sender=ApiToken, actor=actor, target=target, meta=meta(), details={**details, "tentativas": count}
        )
