"""Workers share the webhook outbox (docs/webhooks.rst): a row is claimed by one worker at a time, with
``SELECT ... FOR UPDATE SKIP LOCKED`` where the database has it and a conditional ``UPDATE`` elsewhere,
and a worker whose claim is gone writes nothing. The claims are tested on every database, through both
paths where the database has both; several workers on their own connections at once, on PostgreSQL and
MariaDB/MySQL."""

from __future__ import annotations

import datetime
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from django_convites.models import DeliveryState, WebhookDelivery
from django_convites.services import webhooks as outbox
from tests.parallel import race
from tests.urls import test_done
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "segredo-do-receptor-1"
SKIP_LOCKED, CONDITIONAL_UPDATE = "skip locked", "conditional update"


@pytest.fixture
def receiver(convites_settings: Any) -> Iterator[Receiver]:
    with Receiver() as server:
        convites_settings(WEBHOOKS=[{"url": server.url(), "secret": SECRET}], WEBHOOK_ALLOW_PRIVATE_URLS=True)
        yield server


def pending(count: int) -> list[WebhookDelivery]:
    for n in range(count):
        test_done.send(sender=None, details={"n": n})
    rows = list(WebhookDelivery.objects.order_by("id"))
    assert len(rows) == count
    return rows


def claim_paths() -> list[str]:
    """The claim paths this database can take: SKIP LOCKED where it has it, the conditional UPDATE always."""
    return (
        [SKIP_LOCKED, CONDITIONAL_UPDATE]
        if connection.features.has_select_for_update_skip_locked
        else [CONDITIONAL_UPDATE]
    )


def take(path: str) -> None:
    """Make this thread's connection claim through ``path`` (the conditional UPDATE is what a database
    without SKIP LOCKED gets)."""
    if path == CONDITIONAL_UPDATE:
        connection.features.has_select_for_update_skip_locked = False
    else:
        connection.features.__dict__.pop("has_select_for_update_skip_locked", None)
        assert connection.features.has_select_for_update_skip_locked


@pytest.fixture
def claim_path() -> Iterator[Callable[[str], None]]:
    yield take
    connection.features.__dict__.pop("has_select_for_update_skip_locked", None)


# -- claims, one worker after another ----------------------------------------------------------------------


def test_a_row_is_claimed_once_until_its_lease_ends(claim_path, receiver):
    for path in claim_paths():
        WebhookDelivery.objects.all().delete()
        claim_path(path)
        rows = pending(7)
        before = timezone.now()
        first = outbox.claim(3)
        second = outbox.claim(3)
        third = outbox.claim(3)
        assert [row.pk for row in first + second + third] == [row.pk for row in rows], path
        assert outbox.claim(3) == [], path
        leases = dict(WebhookDelivery.objects.values_list("pk", "leased_until"))
        for row in first + second + third:
            assert leases[row.pk] == row.leased_until and row.leased_until > before + outbox.LEASE_MARGIN
        # A lease that ran out (a worker that died) makes the row claimable again; nothing else does.
        WebhookDelivery.objects.filter(pk=rows[4].pk).update(leased_until=timezone.now() - datetime.timedelta(1))
        assert [row.pk for row in outbox.claim(3)] == [rows[4].pk], path
        assert receiver.requests == []


def test_only_pending_rows_that_are_due_are_claimed(claim_path, receiver):
    for path in claim_paths():
        WebhookDelivery.objects.all().delete()
        claim_path(path)
        due, later, delivered, dead = pending(4)
        WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + datetime.timedelta(1))
        WebhookDelivery.objects.filter(pk=delivered.pk).update(
            state=DeliveryState.DELIVERED, delivered_at=timezone.now()
        )
        WebhookDelivery.objects.filter(pk=dead.pk).update(state=DeliveryState.DEAD)
        assert [row.pk for row in outbox.claim(10)] == [due.pk], path


def test_a_conditional_claim_loses_a_row_another_worker_took_after_it_was_read(claim_path, receiver):
    """Another worker leases the first due row between this worker's read and its UPDATE: this worker
    goes on with the next rows and leaves the other's lease alone."""
    claim_path(CONDITIONAL_UPDATE)
    rows = pending(3)
    theirs = timezone.now() + datetime.timedelta(minutes=5)
    interfered: list[str] = []

    def other_worker_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not interfered and sql.lstrip().upper().startswith("UPDATE"):
            interfered.append(sql)
            WebhookDelivery.objects.filter(pk=rows[0].pk).update(leased_until=theirs)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_worker_first):
        claimed = outbox.claim(3)
    assert interfered
    assert [row.pk for row in claimed] == [rows[1].pk, rows[2].pk]
    assert WebhookDelivery.objects.get(pk=rows[0].pk).leased_until == theirs


def test_a_conditional_claim_that_loses_a_whole_batch_goes_on_with_the_rows_behind_it(claim_path, receiver):
    """Another worker takes both rows this worker read: it claims the next two, rather than coming back
    empty-handed (which would end its ``deliver_due`` while rows are still due)."""
    claim_path(CONDITIONAL_UPDATE)
    rows = pending(5)
    theirs = timezone.now() + datetime.timedelta(minutes=5)
    interfered: list[str] = []

    def other_worker_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not interfered and sql.lstrip().upper().startswith("UPDATE"):
            interfered.append(sql)
            WebhookDelivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(leased_until=theirs)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_worker_first):
        claimed = outbox.claim(2)
    assert [row.pk for row in claimed] == [rows[2].pk, rows[3].pk]
    assert outbox.deliver_due().ids == [rows[4].pk]


def test_a_worker_whose_lease_was_taken_over_writes_nothing(claim_path, receiver):
    for path in claim_paths():
        WebhookDelivery.objects.all().delete()
        claim_path(path)
        (row,) = pending(1)
        (late,) = outbox.claim(1)
        # Its lease runs out before it is done, and another worker claims the row.
        WebhookDelivery.objects.filter(pk=row.pk).update(leased_until=timezone.now() - datetime.timedelta(seconds=1))
        (other,) = outbox.claim(1)
        # The request went out, but the row is the other worker's now: the late one reports it as still
        # pending and writes nothing.
        assert outbox.attempt(late) == DeliveryState.PENDING
        stored = WebhookDelivery.objects.get(pk=row.pk)
        assert (stored.state, stored.attempts, stored.leased_until) == (
            DeliveryState.PENDING,
            0,
            other.leased_until,
        ), path
        assert outbox.attempt(other) == DeliveryState.DELIVERED
        stored = WebhookDelivery.objects.get(pk=row.pk)
        assert (stored.state, stored.attempts, stored.leased_until) == (DeliveryState.DELIVERED, 1, None), path


def test_deliver_due_with_a_limit_stops_there(receiver):
    pending(5)
    report = outbox.deliver_due(batch=2, limit=3)
    assert (report.delivered, len(report.ids)) == (3, 3)
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 2
    assert outbox.deliver_due(batch=2).delivered == 2


# -- several workers at once -------------------------------------------------------------------------------

WORKERS = 3
ROWS = 60


@pytest.mark.parallel_db
@pytest.mark.parametrize("path", [SKIP_LOCKED, CONDITIONAL_UPDATE])
def test_workers_at_once_deliver_every_row_and_never_one_twice_at_a_time(receiver, path):
    if path == SKIP_LOCKED and not connection.features.has_select_for_update_skip_locked:
        path = CONDITIONAL_UPDATE  # this server has no SKIP LOCKED: what it would use instead
    rows = pending(ROWS)
    receiver.delay = 0.02
    reports: dict[int, outbox.DeliveryReport] = {}
    lock = threading.Lock()

    def work(index: int) -> None:
        take(path)  # this thread's own connection
        report = outbox.deliver_due(batch=4)
        with lock:
            reports[index] = report

    assert race(work, threads=WORKERS) == Counter({"ok": WORKERS})
    sent = Counter(request.delivery for request in receiver.requests)
    assert sent == Counter({str(row.pk): 1 for row in rows})  # every row, once
    assert max(receiver.most_in_flight.values()) == 1  # never one delivery twice at the same moment
    assert receiver.most_at_once >= 2, "the workers did run at the same time"
    assert sum(report.delivered for report in reports.values()) == ROWS
    assert sorted(pk for report in reports.values() for pk in report.ids) == [row.pk for row in rows]
    stored = WebhookDelivery.objects.values_list("state", "attempts", "leased_until")
    assert set(stored) == {(DeliveryState.DELIVERED, 1, None)}
    assert sum(report.delivered > 0 for report in reports.values()) >= 2, reports
    if path == SKIP_LOCKED:
        assert all(report.delivered > 0 for report in reports.values()), reports
