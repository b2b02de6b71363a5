"""The webhook outbox: rows written with their audit events, delivered by workers (docs/webhooks.rst).

:func:`enqueue` runs inside the transaction that writes the event, so an event and its deliveries commit
or roll back together. :func:`deliver_due` is what a worker runs, from ``manage.py
convites_deliver_webhooks`` or any task runner. Several workers may run at once: each claims rows by
setting their ``leased_until``, with ``SELECT ... FOR UPDATE SKIP LOCKED`` where the database has it and a
conditional ``UPDATE`` elsewhere; a claimed row is not claimed again before its lease ends, the worker sends
it only while its lease leaves time for the whole attempt, and every write after the attempt is conditional
on the lease. A row is thus delivered at least once, and never by two workers at the same time.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from django_convites import policy, signals, webhooks
from django_convites._db.batches import delete_in_batches
from django_convites.conf import NEVER_SENT_TO_WEBHOOKS, WebhookEndpoint, app_settings
from django_convites.exceptions import NotFound
from django_convites.models import AuditEvent, DeliveryState, WebhookDelivery

#: Time a lease adds to the attempts it covers: for the writes around them and clocks a little apart.
LEASE_MARGIN = datetime.timedelta(seconds=30)
#: The longest wait between two attempts.
MAX_RETRY_DELAY = datetime.timedelta(days=1)

_random = random.SystemRandom()


# -- writing ----------------------------------------------------------------------------------------------


def endpoints_for(event: str) -> list[WebhookEndpoint]:
    """The endpoints of ``WEBHOOKS`` that want ``event`` (none for ``webhook_falhou``)."""
    if event in NEVER_SENT_TO_WEBHOOKS:
        return []
    return [endpoint for endpoint in app_settings.WEBHOOKS if endpoint.wants(event)]


def enqueue(event: AuditEvent, endpoints: Sequence[WebhookEndpoint]) -> None:
    """One pending delivery of the saved ``event`` per endpoint, in one ``INSERT``; call it in the event's
    transaction."""
    body = webhooks.payload_of(event)
    actor_pk = "" if event.actor_id is None else str(event.actor_id)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event_id=event.pk, event=event.event, actor_pk=actor_pk, url=endpoint.url, payload=body)
        for endpoint in endpoints
    )


# -- delivering -------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What a run of :func:`deliver_due` did: deliveries that succeeded, failed (to be retried) and died."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.dead

    def add(self, state: str, delivery_id: int) -> None:
        self.ids.append(delivery_id)
        if state == DeliveryState.DELIVERED:
            self.delivered += 1
        elif state == DeliveryState.DEAD:
            self.dead += 1
        else:
            self.failed += 1


def _timeout() -> float:
    return app_settings.WEBHOOK_TIMEOUT.total_seconds()


def _lease_for(count: int) -> datetime.timedelta:
    return count * (app_settings.WEBHOOK_TIMEOUT + datetime.timedelta(seconds=1)) + LEASE_MARGIN


def _unleased(now: datetime.datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=now)


def _due(now: datetime.datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(
        _unleased(now), state=DeliveryState.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")


def claim(batch: int = 10) -> list[WebhookDelivery]:
    """Take up to ``batch`` due deliveries for this worker; each comes back with its ``leased_until`` set."""
    now = timezone.now()
    lease_end = now + _lease_for(batch)
    alias = router.db_for_write(WebhookDelivery)
    claimed: list[WebhookDelivery] = []
    if connections[alias].features.has_select_for_update_skip_locked:
        with transaction.atomic(using=alias):
            rows = list(_due(now).select_for_update(skip_locked=True)[:batch])
            WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
                leased_until=lease_end, last_attempt_at=now
            )
            claimed = rows
    else:
        tried: set[int] = set()
        while len(claimed) < batch:
            # Rows another worker took since they were read are lost: read again, past every row tried, so a
            # worker that loses a whole batch goes on with the rows behind it instead of stopping.
            rows = list(_due(now).exclude(pk__in=tried)[: batch - len(claimed)])
            if not rows:
                break
            for row in rows:
                tried.add(row.pk)
                # Claimed only if nobody leased it since it was read.
                taken = WebhookDelivery.objects.filter(
                    _unleased(now),
                    pk=row.pk,
                    state=DeliveryState.PENDING,
                    next_attempt_at__lte=now,
                    attempts=row.attempts,
                    leased_until=row.leased_until,
                ).update(leased_until=lease_end, last_attempt_at=now)
                if taken:
                    claimed.append(row)
    for row in claimed:
        row.leased_until, row.last_attempt_at = lease_end, now
    return claimed


def deliver_due(*, batch: int = 10, limit: int | None = None) -> DeliveryReport:
    """Deliver what is due now, batch after batch, until nothing is due (or ``limit`` attempts were made);
    return what happened. What a worker, a cron job or a task runner calls (docs/webhooks.rst)."""
    report = DeliveryReport()
    while limit is None or report.attempted < limit:
        size = batch if limit is None else min(batch, limit - report.attempted)
        rows = claim(size)
        if not rows:
            break
        lease_end = rows[0].leased_until or timezone.now()
        for position, row in enumerate(rows):
            if timezone.now() + app_settings.WEBHOOK_TIMEOUT + LEASE_MARGIN / 2 > lease_end:
                release(rows[position:])  # the lease is running out: leave the rest to the next claim
                break
            report.add(attempt(row), row.pk)
    return report


def release(rows: Iterable[WebhookDelivery]) -> None:
    """Give claimed rows back unattempted, so the next claim takes them at once."""
    for row in rows:
        WebhookDelivery.objects.filter(pk=row.pk, leased_until=row.leased_until).update(leased_until=None)


def attempt(row: WebhookDelivery) -> str:
    """Send one claimed delivery and write what came of it; return its new state."""
    endpoint = next((item for item in app_settings.WEBHOOKS if item.url == row.url), None)
    if endpoint is None:
        outcome = webhooks.Outcome(error="no endpoint of WEBHOOKS has this URL any more")
    else:
        body = row.payload.encode()
        headers = webhooks.headers_for(event=row.event, delivery_id=row.pk, secrets=endpoint.secrets, body=body)
        outcome = webhooks.post(
            row.url, body, headers, timeout=_timeout(), allow_private=app_settings.WEBHOOK_ALLOW_PRIVATE_URLS
        )
    return _record(row, outcome)


def _retry_delay(attempts: int) -> datetime.timedelta:
    """The wait after the ``attempts``-th failure: the base delay doubled each time, at most a day, drawn
    between half of that and all of it (jitter, so failed deliveries do not all come back at once)."""
    ceiling: datetime.timedelta = min(app_settings.WEBHOOK_RETRY_DELAY * 2 ** min(attempts - 1, 30), MAX_RETRY_DELAY)
    return ceiling * _random.uniform(0.5, 1.0)


def _record(row: WebhookDelivery, outcome: webhooks.Outcome) -> str:
    now = timezone.now()
    mine = WebhookDelivery.objects.filter(pk=row.pk, leased_until=row.leased_until)
    attempts = row.attempts + 1
    written: dict[str, Any] = {
        "attempts": attempts,
        "leased_until": None,
        "last_status": outcome.status,
        "last_error": outcome.error,
    }
    if outcome.ok:
        state = DeliveryState.DELIVERED
        written.update(state=state, delivered_at=now)
    elif attempts >= app_settings.WEBHOOK_MAX_ATTEMPTS:
        state = DeliveryState.DEAD
        written.update(state=state)
    else:
        state = DeliveryState.PENDING
        written.update(next_attempt_at=now + _retry_delay(attempts))
    with transaction.atomic(using=mine.db):
        if not mine.update(**written):
            # The lease ran out and another worker holds the row now: what it writes stands.
            return DeliveryState.PENDING
        if state == DeliveryState.DEAD:
            signals.webhook_failed.send(
                sender=WebhookDelivery,
                actor=None,
                target=row,
                meta=None,
                details={
                    "entrega": row.pk,
                    "evento": row.event,
                    "evento_id": row.event_id,
                    "destino": webhooks.destination(row.url),
                    "tentativas": attempts,
                    "erro": outcome.error,
                },
            )
    row.attempts, row.state, row.leased_until = attempts, state, None
    return state


# -- sending again ----------------------------------------------------------------------------------------


class DeliveryInFlight(RuntimeError):
    """The delivery is claimed by a worker that is sending it now."""


def _subject(row: WebhookDelivery) -> policy.Subject:
    return policy.Subject(owner_id=row.actor_pk or None)


def redeliver(delivery_id: Any, *, actor: Any = None) -> WebhookDelivery:
    """Send one delivery now, whatever its state (pending, delivered or dead), and return it as it ends up.

    ``actor`` None is the site itself (a management command); a user must be allowed to read the event
    (:data:`~django_convites.policy.Act.REDELIVER_WEBHOOK`). A delivery that a worker is sending right now is
    :class:`DeliveryInFlight`; an unknown id is ``NotFound``."""
    row = _visible(delivery_id, actor)
    now = timezone.now()
    lease_end = now + _lease_for(1)
    taken = WebhookDelivery.objects.filter(_unleased(now), pk=row.pk).update(
        leased_until=lease_end, last_attempt_at=now, state=DeliveryState.PENDING, delivered_at=None
    )
    if not taken:
        raise DeliveryInFlight(f"delivery {row.pk} is being sent by a worker right now")
    row.refresh_from_db()
    attempt(row)
    row.refresh_from_db()
    return row


def requeue(deliveries: Iterable[Any], *, actor: Any = None) -> int:
    """Make deliveries due again now with a fresh count of attempts (the admin's action); return how many.
    Rows a worker holds right now, and rows ``actor`` may not reach, are left as they are."""
    now = timezone.now()
    ids = [
        row.pk
        for row in deliveries
        if actor is None or policy.decide(actor, policy.Act.REDELIVER_WEBHOOK, _subject(row))
    ]
    return WebhookDelivery.objects.filter(_unleased(now), pk__in=ids).update(
        state=DeliveryState.PENDING, next_attempt_at=now, attempts=0, delivered_at=None
    )


def _visible(delivery_id: Any, actor: Any) -> WebhookDelivery:
    try:
        row = WebhookDelivery.objects.get(pk=int(delivery_id))
    except (WebhookDelivery.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if actor is not None:
        policy.require(actor, policy.Act.REDELIVER_WEBHOOK, _subject(row))
    return row


def purge_finished_before(cutoff: datetime.datetime, *, batch_size: int = 1000) -> int:
    """Delete deliveries made before ``cutoff`` that are delivered or dead, in batches; return how many."""
    finished = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(state=DeliveryState.PENDING)
    return delete_in_batches(finished, batch_size, raw=True)
