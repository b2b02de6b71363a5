"""The app's own receiver of the domain signals: one append-only :class:`AuditEvent` per event.

A success event is written in the transaction of the change it records, so it commits with that change
and never outlives a rollback. A failure event (``DomainSignal(failure=True)``) is written through
:func:`run_despite_rollback`, so it survives the failure response even under ``ATOMIC_REQUESTS = True``.

:func:`run_despite_rollback` and :func:`flush_deferred_writes` are public here for the receivers of a site
that must write despite a rollback too (:doc:`/signals`); they live in the private ``django_convites._db``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db import models, router, transaction
from django.db.models import Q

from django_convites import policy, roles, tokens
from django_convites._db import deferred
from django_convites._db.deferred import run_despite_rollback as run_despite_rollback  # public here
from django_convites.exceptions import NotAllowed
from django_convites.models import AuditEvent
from django_convites.services import webhooks

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
        _save(row)


def _save(row: AuditEvent) -> None:
    """Write the event, and its webhook deliveries (``WEBHOOKS``) in the same transaction."""
    endpoints = webhooks.endpoints_for(row.event)
    if not endpoints:
        row.save()
        return
    with transaction.atomic(using=router.db_for_write(AuditEvent), savepoint=False):
        row.save()
        webhooks.enqueue(row, endpoints)


def _save_failure(row: AuditEvent) -> None:
    """Write a failure event after the transaction it was sent in has ended. Its actor may have been made
    in that transaction and rolled back with it (a sign-up whose use of the invite was refused): the event
    is then kept without an actor, rather than lost to the foreign key."""
    if row.actor_id is not None and not get_user_model()._base_manager.filter(pk=row.actor_id).exists():
        row.actor = None
    _save(row)


def events_for(target: Any) -> models.QuerySet[AuditEvent]:
    """The access history of one target, newest first."""
    target_type, target_id = target_of(target)
    return AuditEvent.objects.filter(target_type=target_type, target_id=target_id)


@dataclass(frozen=True)
class EventFilter:
    """What a list of events may be narrowed to (the query string of the audit lists): each field None
    leaves that part open. ``since`` and ``until`` are inclusive."""

    actor_id: Any = None
    event: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    ip: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, queryset: models.QuerySet[AuditEvent]) -> models.QuerySet[AuditEvent]:
        wanted = {
            "actor_id": self.actor_id,
            "event": self.event,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "ip": self.ip,
            "created_at__gte": self.since,
            "created_at__lte": self.until,
        }
        return queryset.filter(**{lookup: value for lookup, value in wanted.items() if value is not None})


def events_visible_to(user: Any, wanted: EventFilter = EventFilter()) -> models.QuerySet[AuditEvent]:
    """Events ``user`` may read, narrowed by ``wanted``, newest first: everyone's for root and admin (their
    organizations' members' when they are confined), otherwise only their own.

    Asking for another user's events without the right raises :class:`~django_convites.exceptions.NotAllowed`.
    """
    queryset = AuditEvent.objects.all()
    actor_id = wanted.actor_id
    if policy.reach(user, policy.Act.READ_AUDIT) is not roles.Reach.ALL:
        if actor_id is not None and actor_id != user.pk:
            raise NotAllowed()
        wanted = replace(wanted, actor_id=user.pk)
    elif actor_id is not None:
        policy.require(user, policy.Act.READ_AUDIT, policy.Subject(owner_id=actor_id))
    else:
        confined = policy.owned_by_reachable_users(user, field="actor")
        if confined is not None:
            queryset = queryset.filter(confined)
    return wanted.apply(queryset)


def iter_events(
    *, since: datetime | None = None, until: datetime | None = None, chunk: int = 2000
) -> Iterator[AuditEvent]:
    """Every event from ``since`` to ``until`` (inclusive; None: open), oldest first, read ``chunk`` rows at a
    time by their ``(created_at, id)`` position: no long transaction and no server-side cursor, so it runs
    while the site writes, and through a transaction-pooling connection pooler."""
    events = EventFilter(since=since, until=until).apply(AuditEvent.objects.all()).order_by("created_at", "id")
    after: Q | None = None
    while True:
        page = list((events.filter(after) if after is not None else events)[:chunk])
        yield from page
        if len(page) < chunk:
            return
        last = page[-1]
        after = Q(created_at__gt=last.created_at) | Q(created_at=last.created_at, id__gt=last.pk)


def purge_before(cutoff: datetime, *, batch_size: int = 1000) -> tuple[int, int]:
    """The retention purge: delete events created before ``cutoff``, and the webhook deliveries of that age
    that are done (delivered or dead), ``batch_size`` rows per statement; return both counts. Each batch is
    its own short statement that locks only the rows it deletes, so the site keeps writing events."""
    events = AuditEvent.objects.purge_before(cutoff, batch_size=batch_size)
    deliveries = webhooks.purge_finished_before(cutoff, batch_size=batch_size)
    return events, deliveries
