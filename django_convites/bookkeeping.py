"""Writes that must survive the failure they record.

A failed request changes nothing, except the records the failure itself must leave: failed-attempt
counters, failure audit events and reuse-triggered revocations (contract section 9). When the host sets
``ATOMIC_REQUESTS = True``, or wraps a call in ``transaction.atomic()``, the failure response rolls back
whatever the request wrote, those records included. :func:`run_despite_rollback` runs such a write now
when no transaction is open, and otherwise once the enclosing transaction has ended, whether it
committed or rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger("django_convites")

_PENDING_ATTR = "_convites_pending_bookkeeping"


def run_despite_rollback(func: Callable[[], Any], using: str | None = None) -> None:
    """Run ``func`` outside the current transaction: now, or when that transaction ends.

    On commit it runs from ``transaction.on_commit``; on rollback it runs when the request finishes
    (:func:`flush_after_request`), after the atomic block that held it has been left.
    """
    alias = using or DEFAULT_DB_ALIAS
    connection = connections[alias]
    depth = _depth(connection)
    if not depth:
        func()
        return
    pending: list[tuple[int, Callable[[], Any]]] = connection.__dict__.setdefault(_PENDING_ATTR, [])
    pending.append((depth, func))
    transaction.on_commit(partial(flush, alias), using=alias)


def _depth(connection: Any) -> int:
    """Open atomic blocks, not counting the ones Django's TestCase wraps each test in."""
    return sum(1 for block in connection.atomic_blocks if not getattr(block, "_from_testcase", False))


def flush(using: str | None = None) -> None:
    """Run the pending writes whose transaction has ended (the others wait for theirs)."""
    connection = connections[using or DEFAULT_DB_ALIAS]
    pending = connection.__dict__.get(_PENDING_ATTR)
    if not pending:
        return
    depth = _depth(connection)
    ready = [func for opened_at, func in pending if opened_at > depth]
    pending[:] = [(opened_at, func) for opened_at, func in pending if opened_at <= depth]
    for func in ready:
        func()


def flush_after_request(**kwargs: Any) -> None:
    """``request_finished`` receiver: the request's transaction is over, so its pending writes can run."""
    for connection in connections.all(initialized_only=True):
        try:
            flush(connection.alias)
        except Exception:
            logger.exception("django_convites: could not write failure bookkeeping")
