"""Writes that must survive the failure they record.

A failed request changes nothing, except the records the failure itself must leave: failed-attempt
counters, failure audit events and reuse-triggered revocations (docs/errors.rst). When the host sets
``ATOMIC_REQUESTS = True``, or wraps a call in ``transaction.atomic()`` (in a view, a management command, a
task), rolling back the failure would roll those records back with it. :func:`run_despite_rollback` runs
such a write now when no transaction is open, and otherwise as soon as the outermost transaction has
ended, committed or rolled back, on the same connection, in autocommit.

Why after, and on the same connection: a second connection writing while the transaction is still open
would be wrong on every database. On SQLite the open transaction holds the database's write lock, so the
second connection would wait for a transaction that is waiting for it, until the busy timeout. On
PostgreSQL and MySQL the failure's rows (the session family, the code's counters) may be locked by that
same transaction, the same deadlock, and a row the transaction inserted is invisible to a foreign key
written elsewhere.

How the end is seen: Django has ``transaction.on_commit`` but no hook for a rollback, and it ends every
outermost ``atomic()`` block, committed or rolled back, by calling ``set_autocommit(True)`` on the
connection. The first time a write is deferred on a connection, that connection object (not the class)
gets ``set_autocommit`` and ``savepoint_commit`` that call Django's and then :func:`flush`. Blocks that
Django's ``TestCase`` opens around a test do not count as a transaction here: in a test the writes run
when the test's own blocks end, inside the test's transaction, and writes still waiting when the test
rolls back are dropped with it. The end of a request (``request_finished``) and :func:`flush` run anything
left over, such as the writes of a connection that was closed in the middle of its transaction. Under
manual transaction management (``set_autocommit(False)`` without ``atomic()``) the writes run when the
last ``atomic()`` block inside it is left; call :func:`flush` after your own ``rollback()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger("django_convites")

_PENDING_ATTR = "_convites_pending_bookkeeping"
_WATCHED_ATTR = "_convites_bookkeeping_watched"
_FLUSHING_ATTR = "_convites_bookkeeping_flushing"


def run_despite_rollback(func: Callable[[], Any], using: str | None = None) -> None:
    """Run ``func`` outside the current transaction: now, or as soon as that transaction has ended.

    Inside a transaction it waits for the outermost ``atomic()`` block to end, committed or rolled back,
    and then runs in a transaction of its own, on the same connection. Why after, and how the end of a
    transaction is seen: the docstring of the private module ``django_convites._db.deferred``.
    """
    alias = using or DEFAULT_DB_ALIAS
    connection = connections[alias]
    if not _depth(connection):
        func()
        return
    _watch(connection)
    in_testcase = bool(connection.atomic_blocks) and getattr(connection.atomic_blocks[0], "_from_testcase", False)
    pending: list[tuple[Callable[[], Any], bool]] = connection.__dict__.setdefault(_PENDING_ATTR, [])
    pending.append((func, in_testcase))


def _depth(connection: Any) -> int:
    """Open atomic blocks, not counting the ones Django's TestCase wraps each test in."""
    return sum(1 for block in connection.atomic_blocks if not getattr(block, "_from_testcase", False))


def _watch(connection: Any) -> None:
    """Make ``connection`` run its pending writes when its transaction ends (once per connection object)."""
    if connection.__dict__.get(_WATCHED_ATTR):
        return
    connection.__dict__[_WATCHED_ATTR] = True
    django_set_autocommit = connection.set_autocommit
    django_savepoint_commit = connection.savepoint_commit

    def set_autocommit(autocommit: bool, *args: Any, **kwargs: Any) -> None:
        # Turning autocommit back on ends a transaction: the outermost atomic() block's, committed or
        # rolled back. (Connecting turns it on too, on a connection that had it on: that ends nothing.)
        ended = autocommit and not connection.autocommit
        django_set_autocommit(autocommit, *args, **kwargs)
        if ended:
            pending = connection.__dict__.get(_PENDING_ATTR)
            if pending:
                # Writes queued inside a TestCase's transaction, which has just been rolled back.
                pending[:] = [(func, in_testcase) for func, in_testcase in pending if not in_testcase]
            flush(connection.alias)

    def savepoint_commit(sid: str) -> None:
        django_savepoint_commit(sid)  # Django leaves every savepoint this way, after a rollback to it too
        flush(connection.alias)

    connection.set_autocommit = set_autocommit
    connection.savepoint_commit = savepoint_commit


def flush(using: str | None = None) -> None:
    """Run the pending writes of ``using`` once no transaction holds them (inside one it does nothing).

    Each write runs in its own ``atomic()`` block, and a write it defers in turn runs right after it. A write
    that fails is logged on the ``django_convites`` logger and the others still run: this is called where an
    error must not escape, from Django's transaction exit and at the end of a request.
    """
    alias = using or DEFAULT_DB_ALIAS
    connection = connections[alias]
    pending = connection.__dict__.get(_PENDING_ATTR)
    if not pending or _depth(connection) or connection.__dict__.get(_FLUSHING_ATTR):
        return
    connection.__dict__[_FLUSHING_ATTR] = True
    try:
        while pending:
            func, _ = pending.pop(0)
            try:
                with transaction.atomic(using=alias):
                    func()
            except Exception:
                logger.exception("django_convites: could not write failure bookkeeping")
    finally:
        connection.__dict__[_FLUSHING_ATTR] = False


def flush_after_request(**kwargs: Any) -> None:
    """``request_finished`` receiver: the request's transaction is over, so its pending writes can run."""
    for connection in connections.all(initialized_only=True):
        flush(connection.alias)
