"""The app's own receiver of the domain signals: one append-only :class:`AuditEvent` per event.

A success event is written in the transaction of the change it records, so it commits with that change
and never outlives a rollback. A failure event (``DomainSignal(failure=True)``) is written through
:func:`run_despite_rollback`, so it survives the failure response even under ``ATOMIC_REQUESTS = True``.

:func:`run_despite_rollback` and :func:`flush_deferred_writes` are public here for the receivers of a site
that must write despite a rollback too (:doc:`/signals`); they live in the private ``django_convites._db``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db import models

from django_convites import policy, roles, tokens
from django_convites._db import deferred
from django_convites._db.deferred import run_despite_rollback as run_despite_rollback  # public here
from django_convites.exceptions import NotAllowed
from django_convites.models import AuditEvent

if TYPE_CHECKING:
    from django_convites.net import RequestMeta
    from django_convites.signals import DomainSignal


def flush_deferred_writes(using: str | None = None) -> None:
    """Run now the writes :func:`run_despite_rollback` still holds for ``using``: after a ``rollback()`` of
    your own under manual transaction management, where no ``atomic()`` block ends to run them."""
    deferred.flush(using)


class Target(NamedTuple):
    """What an event is about, when it is not a model instance of this app."""

    type: str
    id: str


#: Keys ``details`` may never carry: the names secrets travel under.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {"codigo", "code", "token", "secret", "segredo", "password", "senha", "refresh", "access", "digest", "otp"}
)


class SecretInAuditError(ValueError):
    """A caller tried to put a secret's key (``password``, ``token``, ...) into an audit row."""


def _check_details(value: Any, path: str = "details") -> Any:
    """``value`` with every token-shaped part of its strings redacted (:func:`tokens.redact`), at any
    depth; :class:`SecretInAuditError` when a key is one secrets travel under (a programmer's mistake).

    Strings are redacted, not refused: many come from the client (a username, a token's ``nome``), and a
    client's own string must neither make the request fail nor leave the attempt unrecorded."""
    if isinstance(value, Mapping):
        cleaned = {}
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_DETAIL_KEYS:
                raise SecretInAuditError(f"{path} may not carry the key {key!r}")
            cleaned[tokens.redact(key) if isinstance(key, str) else key] = _check_details(item, f"{path}.{key}")
        return cleaned
    if isinstance(value, (list, tuple)):
        return [_check_details(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, str):
        return tokens.redact(value)
    return value


def target_of(target: Any) -> tuple[str, str]:
    """``(target_type, target_id)`` for a model instance, a :class:`Target` or None."""
    if target is None:
        return "", ""
    if isinstance(target, Target):
        return target.type, str(target.id)
    if isinstance(target, models.Model):
        return getattr(target, "audit_target_type", target._meta.model_name or ""), str(target.pk)
    raise TypeError(f"cannot audit a target of type {type(target).__name__}")


def build_event(
    event: str,
    *,
    actor: Any = None,
    target: Any = None,
    meta: RequestMeta | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """An unsaved :class:`AuditEvent`; ``details`` with anything shaped like a token redacted."""
    details = _check_details(dict(details or {}))
    target_type, target_id = target_of(target)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent(
        event=event,
        actor=actor if authenticated else None,
        target_type=target_type,
        target_id=target_id,
        ip=meta.ip if meta else None,
        user_agent=meta.user_agent if meta else "",
        details=details,
    )


def record_event(signal: DomainSignal, **kwargs: Any) -> None:
    """Receiver connected to every :class:`~django_convites.signals.DomainSignal`."""
    row = build_event(
        signal.event,
        actor=kwargs.get("actor"),
        target=kwargs.get("target"),
        meta=kwargs.get("meta"),
        details=kwargs.get("details"),
    )
    if signal.failure:
        run_despite_rollback(lambda: _save_failure(row))
    else:
        row.save()


def _save_failure(row: AuditEvent) -> None:
    """Write a failure event after the transaction it was sent in has ended. Its actor may have been made
    in that transaction and rolled back with it (a sign-up whose use of the invite was refused): the event
    is then kept without an actor, rather than lost to the foreign key."""
    if row.actor_id is not None and not get_user_model()._base_manager.filter(pk=row.actor_id).exists():
        row.actor = None
    row.save()


def events_for(target: Any) -> models.QuerySet[AuditEvent]:
    """The access history of one target, newest first."""
    target_type, target_id = target_of(target)
    return AuditEvent.objects.filter(target_type=target_type, target_id=target_id).order_by("-id")


def events_visible_to(
    user: Any,
    *,
    actor_id: Any = None,
    event: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> models.QuerySet[AuditEvent]:
    """Events ``user`` may read, filtered: everyone's for root and admin (their organizations' members'
    when they are confined), otherwise only their own.

    Asking for another user's events without the right raises :class:`~django_convites.exceptions.NotAllowed`.
    """
    queryset = AuditEvent.objects.all()
    if policy.reach(user, policy.Act.READ_AUDIT) is not roles.Reach.ALL:
        if actor_id is not None and actor_id != user.pk:
            raise NotAllowed()
        actor_id = user.pk
    elif actor_id is not None:
        policy.require(user, policy.Act.READ_AUDIT, policy.Subject(owner_id=actor_id))
    else:
        confined = policy.owned_by_reachable_users(user, field="actor")
        if confined is not None:
            queryset = queryset.filter(confined)
    if actor_id is not None:
        queryset = queryset.filter(actor_id=actor_id)
    if event is not None:
        queryset = queryset.filter(event=event)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lte=until)
    return queryset
