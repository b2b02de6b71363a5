"""Run one piece of work in many threads at once, each with its own database connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection

from django_convites.exceptions import ConvitesError

THREADS = 24


def api_error(response: Any) -> ConvitesError:
    """The error of an API answer, for :func:`race` to count by its code (or its status, without one)."""
    return ConvitesError(code=response.json().get("code", f"status {response.status_code}"))


def race(work: Callable[[int], Any], threads: int = THREADS) -> Counter[str]:
    """Run ``work(i)`` in ``threads`` threads released at once; count the outcomes (``ok`` or an error code)."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
            outcome = "ok"
        except ConvitesError as error:
            outcome = error.code
        except Exception as error:  # a deadlock or a 500 would land here and fail the test
            outcome = f"crash: {error!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=run, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(outcomes) == threads, "a worker hung"
    return Counter(outcomes)
