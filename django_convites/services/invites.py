"""Invites: issue, validate, use and revoke them (docs/invites.rst).

Every function takes explicit arguments (the acting user, the request's
:class:`~django_convites.net.RequestMeta`), never an ``HttpRequest``, so the API, the HTML pages, the admin
and management commands share them. Every change that must happen once is one conditional ``UPDATE``
whose row count decides: using an invite, revoking it, and counting the issuer's daily quota.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_convites import orgs, policy, roles, signals, tokens
from django_convites.audit import events_for
from django_convites.conf import app_settings
from django_convites.exceptions import (
    ConvitesError,
    InvalidCodeFormat,
    InvalidField,
    InviteEmailMismatch,
    InviteExpired,
    InviteNotBound,
    InviteNotFound,
    InviteQuotaExceeded,
    InviteRevoked,
    InviteUndeliverable,
    InviteUsed,
    NotAllowed,
)
from django_convites.models import AuditEvent, Invite, InviteQuota, InviteState
from django_convites.net import RequestMeta
from django_convites.policy import Act, Subject
from django_convites.roles import Action, Reach

#: The longest address an invite may be bound to (RFC 5321's limit, Django's ``EmailField`` default).
EMAIL_MAX_LENGTH = 254


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite and its code. Show the code once; it is not stored anywhere."""

    invite: Invite
    code: str = field(repr=False)
    #: Invites the issuer may still create today; None when the issuer has no quota.
    remaining: int | None


# -- lookups ----------------------------------------------------------------------------------------------


def parse_code(code: object) -> tokens.ParsedToken:
    """``code`` checked against the invite grammar, without a query; :class:`InvalidCodeFormat` if not."""
    try:
        return tokens.parse(code, tokens.Kind.INVITE)
    except tokens.MalformedToken:
        raise InvalidCodeFormat() from None


def find_by_code(code: object) -> Invite:
    """The invite behind ``code``: no query for a malformed code, one indexed query otherwise."""
    parsed = parse_code(code)
    invite = Invite.objects.filter(code_digest=parsed.digest).first()
    if invite is None:
        raise InviteNotFound()
    return invite


def _invite_id(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def is_code(ref: str) -> bool:
    """Whether a path's ``<ref>`` is meant as a code (it has the invite kind's prefix)."""
    return ref.startswith(f"{tokens.Kind.INVITE.value}_")


def find_invite(ref: str) -> Invite:
    """The invite a path's ``<ref>`` names: its id, or its code. A malformed ref costs no query."""
    if is_code(ref):
        return find_by_code(ref)
    invite_id = _invite_id(ref)
    invite = None if invite_id is None else Invite.objects.filter(pk=invite_id).first()
    if invite is None:
        raise InviteNotFound()
    return invite


# -- issuing ----------------------------------------------------------------------------------------------


def quota_day(now: datetime.datetime) -> datetime.date:
    """The calendar day of ``now`` in the site's ``TIME_ZONE`` (whatever time zone is active)."""
    return timezone.localtime(now, timezone.get_default_timezone()).date()


def daily_limit(issuer: Any) -> int | None:
    """How many invites ``issuer`` may create per day; None for no limit (root, or no quota set)."""
    if roles.role_of(issuer) is roles.Role.ROOT:
        return None
    return app_settings.INVITES_PER_DAY


def remaining_today(issuer: Any, now: datetime.datetime | None = None) -> int | None:
    """Invites ``issuer`` may still create today; None when the issuer has no limit."""
    limit = daily_limit(issuer)
    if limit is None:
        return None
    day = quota_day(now or timezone.now())
    used = InviteQuota.objects.filter(issuer=issuer, day=day).values_list("count", flat=True).first() or 0
    return max(limit - used, 0)


def _seconds_to_next_day(now: datetime.datetime) -> int:
    local = timezone.localtime(now, timezone.get_default_timezone())
    midnight = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(), local.tzinfo)
    return max(int((midnight - local).total_seconds()) + 1, 1)


def _take_quota(issuer: Any, limit: int, now: datetime.datetime) -> int:
    """Count one invite against today's quota; return what is left. Call inside a transaction.

    The row lock of the conditional UPDATE holds until the transaction ends, so concurrent issuers
    queue on it and each sees the count the previous one committed.
    """
    day = quota_day(now)
    taken = InviteQuota.objects.filter(issuer=issuer, day=day, count__lt=limit).update(count=F("count") + 1)
    if not taken:
        raise InviteQuotaExceeded(retry_after=_seconds_to_next_day(now))
    count = InviteQuota.objects.filter(issuer=issuer, day=day).values_list("count", flat=True).get()
    return limit - count


def _deny(actor: Any, meta: RequestMeta | None, action: str, reason: str, invite: Invite | None = None) -> NotAllowed:
    signals.invite_denied.send(
        sender=Invite, actor=actor, target=invite, meta=meta, details={"acao": action, "motivo": reason}
    )
    return NotAllowed()


def _expiry(requested: datetime.datetime | None, now: datetime.datetime) -> datetime.datetime:
    if requested is None:
        return now + app_settings.INVITE_LIFETIME
    if timezone.is_naive(requested):
        requested = timezone.make_aware(requested, timezone.get_default_timezone())
    if requested <= now:
        raise InvalidField("data_expiracao", _("Must be in the future."))
    longest = app_settings.INVITE_MAX_LIFETIME
    if requested > now + longest:
        raise InvalidField(
            "data_expiracao",
            _("Must be at most %(days)s days from now.") % {"days": f"{longest.total_seconds() / 86400:g}"},
        )
    return requested


def bound_address(email: object) -> str:
    """The address an invite is bound to, as stored: stripped, its domain lowercased, ``""`` for none;
    :class:`InvalidField` (``email``) for anything that is not one e-mail address."""
    if email is None or email == "":
        return ""
    if not isinstance(email, str) or len(email) > EMAIL_MAX_LENGTH:
        raise InvalidField("email", _("Enter a valid e-mail address."))
    address = email.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidField("email", _("Enter a valid e-mail address.")) from None
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def email_matches(invite: Invite, email: object) -> bool:
    """Whether ``email`` may use ``invite``: any address for an unbound one, else the bound address in
    any case (``casefold()``)."""
    if not invite.email:
        return True
    return isinstance(email, str) and email.strip().casefold() == invite.email.casefold()


def accept_link(code: str, link_base: str | None = None) -> str:
    """The accept link of an invite: ``<base>/<where the pages are mounted>/convites/aceitar/<code>/``.
    ``INVITE_LINK_BASE_URL`` wins over ``link_base`` (the request's ``https://host``)."""
    base = app_settings.INVITE_LINK_BASE_URL or link_base
    if not base:
        raise ImproperlyConfigured("DJANGO_CONVITES: set INVITE_LINK_BASE_URL to send invites outside a request.")
    try:
        path = reverse("django_convites:invite-accept-link", kwargs={"codigo": code})
    except NoReverseMatch:
        raise ImproperlyConfigured(
            "Mount django_convites.urls (the HTML pages) to send invites: their link opens the accept page."
        ) from None
    return base.rstrip("/") + path


def _send(
    invite: Invite,
    code: str,
    link_base: str | None,
    meta: RequestMeta | None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Hand ``invite`` to ``INVITE_SENDER`` and record ``convite_enviado`` with the channel (never the code
    or the link), and ``extra`` details. Call inside the transaction that created or renewed the invite."""
    channel = str(app_settings.INVITE_SENDER(invite, code, accept_link(code, link_base)))[:32]
    signals.invite_sent.send(
        sender=Invite, actor=invite.issued_by, target=invite, meta=meta, details={"canal": channel, **(extra or {})}
    )
    return channel


def issue_invite(
    *,
    actor: Any,
    target_type: str,
    organization: Any = None,
    nuclei: Iterable[Any] = (),
    expires_at: datetime.datetime | None = None,
    email: str | None = None,
    link_base: str | None = None,
    meta: RequestMeta | None = None,
) -> IssuedInvite:
    """Create an invite for ``target_type``, in ``organization`` and its ``nuclei``, issued by ``actor``;
    bound to ``email`` when given (a sign-up must use that address, compared case-insensitively), and
    then sent there by ``INVITE_SENDER`` with its accept link (:func:`accept_link`, from ``link_base``,
    the site's ``https://host``, unless ``INVITE_LINK_BASE_URL`` is set), inside the transaction: if the
    sender raises, nothing is created and no quota is spent.

    Checks, in order: the actor's role may create invites and grant the target type's role (403); the
    target type, organization, nuclei and expiry are valid (400); the daily quota (429). Nothing is
    written before every check has passed, except the audit event of a refusal.
    """
    if not policy.decide(actor, Action.CREATE_INVITE):
        raise _deny(actor, meta, "gerar", "role")
    if target_type not in app_settings.TARGET_TYPES:
        choices = ", ".join(sorted(app_settings.TARGET_TYPES))
        raise InvalidField("tipo_destino", _("Unknown target type; use one of: %(choices)s.") % {"choices": choices})
    if not policy.may_grant(actor, roles.role_for_target_type(target_type)):
        raise _deny(actor, meta, "gerar", "target_type")
    organization_key = orgs.resolve_organization(organization)
    decision = policy.decide(actor, Action.CREATE_INVITE, _new_invite(actor, organization_key))
    if not decision:
        raise _deny(actor, meta, "gerar", decision.reason)
    nucleus_keys = orgs.resolve_nuclei(nuclei, organization_key)
    bound_to = bound_address(email)
    now = timezone.now()
    expiry = _expiry(expires_at, now)
    limit = daily_limit(actor)
    if limit is not None:
        # The day's row exists before the transaction, so the transaction only takes its row lock.
        InviteQuota.objects.bulk_create([InviteQuota(issuer=actor, day=quota_day(now))], ignore_conflicts=True)
    code = tokens.generate(tokens.Kind.INVITE)
    try:
        with transaction.atomic():
            remaining = None if limit is None else _take_quota(actor, limit, now)
            invite = Invite.objects.create(
                code_digest=tokens.digest(code),
                target_type=target_type,
                organization_ref=orgs.stored_reference(organization_key),
                nucleus_refs=[orgs.wire_value(key) for key in nucleus_keys],
                email=bound_to,
                issued_by=actor,
                created_at=now,
                expires_at=expiry,
            )
            signals.invite_issued.send(
                sender=Invite,
                actor=actor,
                target=invite,
                meta=meta,
                details={
                    "tipo_destino": target_type,
                    "organizacao": orgs.organization_key(invite.organization_ref),
                    "nucleos": orgs.nucleus_keys(invite.nucleus_refs),
                    "data_expiracao": expiry.isoformat(),
                    "email_vinculado": bool(bound_to),
                },
            )
            if bound_to:
                _send(invite, code, link_base, meta)
    except InviteQuotaExceeded:
        signals.invite_quota_exceeded.send(sender=Invite, actor=actor, meta=meta, details={"limite": limit})
        raise
    return IssuedInvite(invite=invite, code=code, remaining=remaining)


# -- validating and using ---------------------------------------------------------------------------------


def _unusable(invite: Invite, now: datetime.datetime, *, validating: bool) -> ConvitesError | None:
    state = invite.state(now)
    if state is InviteState.USED:
        return InviteUsed(status=410) if validating else InviteUsed()
    if state is InviteState.REVOKED:
        return InviteRevoked()
    if state is InviteState.EXPIRED:
        return InviteExpired()
    return None


def validate_invite(code: object, *, actor: Any = None, meta: RequestMeta | None = None) -> Invite:
    """The invite behind ``code`` if it can be used now; changes nothing but the audit log.

    A malformed code raises :class:`InvalidCodeFormat` without a query (and without an audit row); an
    unknown one :class:`InviteNotFound`; a used, revoked or expired one a 410 error.
    """
    parsed = parse_code(code)
    invite = Invite.objects.filter(code_digest=parsed.digest).first()
    error: ConvitesError | None
    if invite is None:
        error = InviteNotFound()
    else:
        error = _unusable(invite, timezone.now(), validating=True)
        if error is None:
            signals.invite_validated.send(sender=Invite, actor=actor, target=invite, meta=meta, details={})
            return invite
    signals.invite_validation_failed.send(
        sender=Invite, actor=actor, target=invite, meta=meta, details={"motivo": error.code}
    )
    raise error


def use_invite(
    ref: str, *, user: Any, code: object = None, address: str | None = None, meta: RequestMeta | None = None
) -> Invite:
    """Spend the invite ``ref`` names for ``user``: exactly once, however many requests race for it.

    ``ref`` is the code itself, or the invite's id together with ``code``. An invite bound to an address
    is only for a user with that address (400 ``invite_email_mismatch``): ``address``, the one a sign-up
    just gave, or else the user's e-mail field. Sends ``invite_used`` (with ``invite`` and ``user``) in
    the transaction of the change, so what a host receiver does there commits or rolls back with the use.
    """
    expected_id = None
    if is_code(ref):
        parsed = parse_code(ref)
    else:
        parsed = parse_code(code)
        expected_id = _invite_id(ref)
        if expected_id is None:
            raise InviteNotFound()
    invite = Invite.objects.filter(code_digest=parsed.digest).first()
    if invite is None or (expected_id is not None and invite.pk != expected_id):
        # An id with another invite's code is no match either.
        error: ConvitesError = InviteNotFound()
        signals.invite_use_failed.send(sender=Invite, actor=user, meta=meta, details={"motivo": error.code})
        raise error
    if invite.email and not email_matches(invite, address if address is not None else _address_of(user)):
        error = InviteEmailMismatch()
        signals.invite_use_failed.send(
            sender=Invite, actor=user, target=invite, meta=meta, details={"motivo": error.code}
        )
        raise error
    now = timezone.now()
    withdrawn = withdraw_if_ungrantable(invite, meta=meta, now=now)
    if withdrawn is not None:
        error = InviteRevoked()
        signals.invite_use_failed.send(
            sender=Invite, actor=user, target=invite, meta=meta, details={"motivo": error.code, "causa": withdrawn}
        )
        raise error
    with transaction.atomic():
        # The code is part of the condition: a code replaced by a resend in the meantime spends nothing.
        spent = (
            Invite.objects.open_at(now)
            .filter(pk=invite.pk, code_digest=parsed.digest)
            .update(used_at=now, used_by=user)
        )
        if spent:
            invite.used_at, invite.used_by = now, user
            signals.invite_used.send(
                sender=Invite,
                actor=user,
                target=invite,
                meta=meta,
                details={"tipo_destino": invite.target_type},
                invite=invite,
                user=user,
            )
            return invite
    invite.refresh_from_db()
    if invite.code_digest != parsed.digest:
        error = InviteNotFound()  # sent again with a new code: this one names no invite any more
    else:
        error = _unusable(invite, now, validating=False) or InviteUsed()
    signals.invite_use_failed.send(sender=Invite, actor=user, target=invite, meta=meta, details={"motivo": error.code})
    raise error


# -- the issuer's right to grant -------------------------------------------------------------------------


def _issuer_problem(invite: Invite) -> str | None:
    """Why the issuer of ``invite`` could no longer issue it (a ``motivo``), or None while they could.

    An invite carries its issuer's authority: once the issuer is gone, inactive, or no longer allowed to
    grant its target type in its organization, it must not make anyone an admin (or anything else)."""
    from django.contrib.auth import get_user_model

    issuer = None
    if invite.issued_by_id is not None:
        issuer = get_user_model()._default_manager.filter(pk=invite.issued_by_id).first()
    if issuer is None or not issuer.is_active:
        return "emissor_inativo"
    if invite.target_type not in app_settings.TARGET_TYPES:
        return "tipo_destino_removido"
    grants = roles.role_for_target_type(invite.target_type)
    if not policy.decide(issuer, Action.CREATE_INVITE, subject(invite), credential=policy.SYSTEM) or not (
        policy.may_grant(issuer, grants, credential=policy.SYSTEM)
    ):
        return "emissor_sem_permissao"
    return None


def _address_of(user: Any) -> str:
    """``user``'s e-mail address, or "" when the user model has none."""
    value = getattr(user, user.get_email_field_name(), "") if hasattr(user, "get_email_field_name") else ""
    return value if isinstance(value, str) else ""


def withdraw_if_ungrantable(
    invite: Invite, *, meta: RequestMeta | None = None, now: datetime.datetime | None = None
) -> str | None:
    """Revoke the open ``invite`` if its issuer could no longer issue it, and say why (the ``motivo`` of
    its ``convite_revogado``); None when the issuer still could, or it was not open. Call it outside a
    transaction that may roll back (a sign-up's), so that the withdrawal stands."""
    reason = _issuer_problem(invite)
    if reason is not None and _withdraw(invite, reason, now or timezone.now(), meta):
        return reason
    return None


def _withdraw(invite: Invite, reason: str, now: datetime.datetime, meta: RequestMeta | None) -> bool:
    """Revoke an open ``invite`` whose issuer lost the right to grant it; audited with the ``motivo``."""
    with transaction.atomic():
        revoked = Invite.objects.filter(pk=invite.pk, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if revoked:
            invite.revoked_at = now
            signals.invite_revoked.send(sender=Invite, actor=None, target=invite, meta=meta, details={"motivo": reason})
    return bool(revoked)


def withdraw_ungrantable_invites(issuer: Any, *, meta: RequestMeta | None = None) -> int:
    """Revoke every open invite of ``issuer`` that they could no longer issue (after a deactivation or a
    change of role); the count revoked. Connected to the user model's saves and group changes."""
    now = timezone.now()
    roles.forget_role(issuer)
    count = 0
    for invite in Invite.objects.open_at(now).filter(issued_by_id=issuer.pk).order_by("created_at").iterator():
        reason = _issuer_problem(invite)
        if reason is not None:
            count += _withdraw(invite, reason, now, meta)
    return count


def withdraw_on_user_save(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """``post_save`` of the user model: a saved user may have lost the right to their open invites."""
    if created or (update_fields is not None and not set(update_fields) & {"is_active", "is_superuser", "is_staff"}):
        return
    withdraw_ungrantable_invites(instance)


def withdraw_on_group_change(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    """``m2m_changed`` of the user model's groups: the users who left a group may have lost a role."""
    if action not in {"post_remove", "post_clear", "post_add"}:
        return
    if not reverse:
        withdraw_ungrantable_invites(instance)
        return
    from django.contrib.auth import get_user_model

    users = get_user_model()._default_manager.filter(pk__in=pk_set) if pk_set else []
    for user in users:
        withdraw_ungrantable_invites(user)


# -- managing ---------------------------------------------------------------------------------------------


def subject(invite: Invite) -> Subject:
    """What the policy is told about ``invite``: its issuer and its organization."""
    return Subject(owner_id=invite.issued_by_id, organization=invite.organization_ref or None, has_organization=True)


def _new_invite(issuer: Any, organization_key: Any) -> Subject:
    return Subject(
        owner_id=issuer.pk, organization=orgs.stored_reference(organization_key) or None, has_organization=True
    )


def _check_may_act(user: Any, invite: Invite, action: policy.AnyAction) -> str | None:
    """Why ``user`` may not perform ``action`` on ``invite`` (a reason), or None when they may."""
    decision = policy.decide(user, action, subject(invite))
    return None if decision else decision.reason


def revoke_invite(ref: str, *, actor: Any, meta: RequestMeta | None = None) -> Invite:
    """Revoke the invite ``ref`` names (id or code). Used or revoked invites get a 409 and stay as they are."""
    if policy.reach(actor, Action.REVOKE_INVITE) is Reach.NONE:
        raise _deny(actor, meta, "revogar", "role")
    invite = find_invite(ref)
    reason = _check_may_act(actor, invite, Action.REVOKE_INVITE)
    if reason:
        raise _deny(actor, meta, "revogar", reason, invite)
    now = timezone.now()
    with transaction.atomic():
        revoked = Invite.objects.filter(pk=invite.pk, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        )
        if revoked:
            invite.revoked_at, invite.revoked_by = now, actor
            signals.invite_revoked.send(sender=Invite, actor=actor, target=invite, meta=meta, details={})
            return invite
    invite.refresh_from_db()
    raise InviteUsed() if invite.used_at is not None else InviteRevoked(status=409)


@dataclass(frozen=True)
class ResentInvite:
    """An invite sent again: the invite with its new code's digest, and the channel the sender named. The
    new code itself went to the bound address only, and is kept nowhere."""

    invite: Invite
    channel: str


def _closed(invite: Invite, now: datetime.datetime) -> ConvitesError | None:
    """Why ``invite`` cannot be sent again (as revoking or using it answers), or None while it is open."""
    state = invite.state(now)
    if state is InviteState.USED:
        return InviteUsed()
    if state is InviteState.REVOKED:
        return InviteRevoked(status=409)
    if state is InviteState.EXPIRED:
        return InviteExpired()
    return None


def resend_invite(
    ref: str, *, actor: Any, link_base: str | None = None, meta: RequestMeta | None = None
) -> ResentInvite:
    """Send the invite ``ref`` names (id or code) again to the address it is bound to, with a new code.

    Only the new code's digest is stored, so the old code and its link stop working when this commits,
    and the new link leads to the same invite (same id, expiry, organization). Nothing counts against
    the daily quota. The row is locked (``SELECT ... FOR UPDATE``) from the checks to the commit, so of
    concurrent resends each mails a code and only the last one committed works, and a use racing a
    resend either spends the invite before it (the resend then answers 409) or finds its code replaced.

    Checks, in order: the role may resend at all (403, before any lookup); the ref (400
    ``invalid_code_format``, 404); then, on the locked row, the policy for this invite (403: its issuer,
    or root and admin within their organizations); that it is open (409 ``invite_used`` or
    ``invite_revoked``, 410 ``invite_expired``) and bound to an address (409 ``invite_not_bound``); and
    that its issuer may still issue it (otherwise it is withdrawn, as its use would withdraw it, and the
    answer is 409 ``invite_revoked``). A refusal changes nothing else and mails nothing. If the sender
    raises, nothing changes and the old code keeps working (the default sender's
    :class:`InviteUndeliverable` is 503). ``convite_enviado`` names the issuer as its actor and records
    the channel (``canal``), ``reenvio: true`` and who asked (``solicitante``, a user id).
    """
    if policy.reach(actor, Act.RESEND_INVITE) is Reach.NONE:
        raise _deny(actor, meta, "reenviar", "role")
    ref_invite = find_invite(ref)
    now = timezone.now()
    code = tokens.generate(tokens.Kind.INVITE)
    channel, withdrawn = "", None
    try:
        with transaction.atomic():
            invite = Invite.objects.select_for_update().filter(pk=ref_invite.pk).first()
            if invite is None:
                raise InviteNotFound()
            reason = _check_may_act(actor, invite, Act.RESEND_INVITE)
            if reason:
                raise _deny(actor, meta, "reenviar", reason, invite)
            closed = _closed(invite, now)
            if closed is not None:
                raise closed
            if not invite.email:
                raise InviteNotBound()
            withdrawn = _issuer_problem(invite)
            if withdrawn is None:
                invite.code_digest = tokens.digest(code)
                Invite.objects.filter(pk=invite.pk).update(code_digest=invite.code_digest)
                extra = {"reenvio": True, "solicitante": _user_id(actor)}
                channel = _send(invite, code, link_base, meta, extra)
            else:
                # Its use would be refused and the invite withdrawn: withdraw it now (committed), mail nothing.
                _withdraw(invite, withdrawn, now, meta)
    except InviteUndeliverable:
        raise InviteUndeliverable(
            _("The invite could not be sent again; its code has not changed. Try again later.")
        ) from None
    if withdrawn is not None:
        raise InviteRevoked(status=409)
    return ResentInvite(invite=invite, channel=channel)


def _user_id(user: Any) -> Any:
    """``user``'s primary key as JSON keeps it (a UUID as text)."""
    return user.pk if isinstance(user.pk, int) else str(user.pk)


def invites_visible_to(user: Any, *, state: InviteState | str | None = None) -> QuerySet[Invite]:
    """The invites ``user`` may list: everyone's for root and admin, their own for a gestor (403 else)."""
    granted = policy.reach(user, Action.LIST_INVITES)
    if granted is Reach.NONE:
        raise NotAllowed()
    queryset = Invite.objects.all()
    if granted is Reach.OWN:
        queryset = queryset.filter(issued_by=user)
    managed = roles.managed_organizations(user)
    if managed is not None:
        queryset = queryset.filter(organization_ref__in=[str(key) for key in managed])
    if state is not None:
        queryset = queryset.in_state(state)
    return queryset


def visible_invite(user: Any, ref: str, action: Action = Action.LIST_INVITES) -> Invite:
    """The invite ``ref`` names, if ``user`` may see it for ``action`` (403 before any lookup otherwise)."""
    if policy.reach(user, action) is Reach.NONE:
        raise NotAllowed()
    invite = find_invite(ref)
    if _check_may_act(user, invite, action):
        raise NotAllowed()
    return invite


def invite_history(user: Any, ref: str) -> QuerySet[AuditEvent]:
    """The audit events of the invite ``ref`` names, newest first, if ``user`` may read them."""
    return events_for(visible_invite(user, ref, Action.READ_INVITE_LOGS))
