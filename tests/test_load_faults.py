"""The fault run's classification (``benchmarks/load/faults.py``): each response lands in the stretch of time
it arrived in, and each check fails on a timeline that breaks it. Needs neither locust nor gunicorn."""

from __future__ import annotations

from typing import Any

from benchmarks.load import faults
from benchmarks.load.faults import AFTER, BEFORE, DB_CUT, REDIS_BACK, REDIS_DOWN

MARKS = {REDIS_DOWN: 10.0, REDIS_BACK: 20.0, DB_CUT: 30.0, AFTER: 40.0}
LOGIN = "POST /api/auth/token/"
READ = "GET /api/api-tokens/ (API token)"


def ok_timeline() -> list[list[Any]]:
    """What a run where everything behaved sees: ``[time, endpoint, status, code, JSON, Retry-After]``."""
    return [
        [1.0, LOGIN, 200, "", False, False],
        [2.0, READ, 200, "", False, False],
        [11.0, READ, 200, "", False, False],
        [12.0, LOGIN, 503, "rate_limit_unavailable", True, True],
        [21.0, LOGIN, 200, "", False, False],
        [31.0, READ, 500, "server_error", True, False],
        [41.0, READ, 200, "", False, False],
    ]


def failed(timeline: list[list[Any]]) -> list[str]:
    return [what for what, ok, _ in faults.verdict(faults.classify(timeline, MARKS)) if not ok]


def test_window_of() -> None:
    assert faults.window_of(0.0, MARKS) == BEFORE
    assert faults.window_of(10.0, MARKS) == REDIS_DOWN
    assert faults.window_of(25.0, MARKS) == REDIS_BACK
    assert faults.window_of(39.9, MARKS) == DB_CUT
    assert faults.window_of(99.0, MARKS) == AFTER
    assert faults.window_of(99.0, {}) == BEFORE


def test_outcome() -> None:
    assert faults.outcome(200, "", False, False) == "200"
    assert faults.outcome(503, "rate_limit_unavailable", True, True) == "503 rate_limit_unavailable"
    assert faults.outcome(503, "rate_limit_unavailable", True, False) == "503 rate_limit_unavailable (no Retry-After)"
    assert faults.outcome(500, "", False, False) == "500 (non-JSON)"
    assert faults.outcome(0, "", False, False) == "0"


def test_a_run_that_behaved_passes_every_check() -> None:
    windows = faults.classify(ok_timeline(), MARKS)
    assert windows[REDIS_DOWN].counts[(LOGIN, "503 rate_limit_unavailable")] == 1
    assert windows[DB_CUT].counts[(READ, "500 server_error")] == 1
    assert failed(ok_timeline()) == []
    table = faults.fault_table(windows)
    assert table[0].startswith("| endpoint | outcome | before | Redis down")
    assert any(f"`{LOGIN}` | 503 rate_limit_unavailable | 0 | 1 |" in line for line in table)
    assert all("✓" in line for line in faults.verdict_table(faults.verdict(windows))[2:])


def test_a_500_while_redis_is_down_fails() -> None:
    timeline = [*ok_timeline(), [13.0, LOGIN, 500, "server_error", True, False]]
    assert "no 500 outside the cut connections" in failed(timeline)
    assert "Redis down: what spends a limit gets 503 rate_limit_unavailable" in failed(timeline)


def test_an_unlimited_endpoint_refused_while_redis_is_down_fails() -> None:
    timeline = [*ok_timeline(), [13.0, READ, 503, "rate_limit_unavailable", True, True]]
    assert failed(timeline) == ["Redis down: API token, JWT, refresh, issuance and use keep working"]


def test_a_html_500_or_a_503_without_retry_after_fails() -> None:
    html = [*ok_timeline(), [32.0, READ, 500, "", False, False]]
    assert failed(html) == ["every 5xx is JSON, every 503 rate_limit_unavailable has Retry-After"]
    other = [*ok_timeline(), [32.0, READ, 503, "signup_failed", True, False]]  # noted, not a failure
    assert failed(other) == []
    bare = [*ok_timeline(), [13.0, LOGIN, 503, "rate_limit_unavailable", True, False]]
    assert "every 5xx is JSON, every 503 rate_limit_unavailable has Retry-After" in failed(bare)


def test_no_answer_fails() -> None:
    assert failed([*ok_timeline(), [33.0, READ, 0, "", False, False]]) == [
        "every request got an answer (no hang, no reset)"
    ]


def test_no_recovery_fails() -> None:
    still_down = [row for row in ok_timeline() if row[0] != 21.0] + [
        [21.0, LOGIN, 503, "rate_limit_unavailable", True, True]
    ]
    assert failed(still_down) == ["Redis back: each endpoint refused meanwhile is answered again"]
    broken_after = [*ok_timeline(), [42.0, READ, 500, "server_error", True, False]]
    assert "connections cut: the next requests succeed" in failed(broken_after)
