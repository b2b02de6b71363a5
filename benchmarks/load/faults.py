"""Faults under load (``python -m benchmarks.load --faults``): the mixed load on gunicorn with Redis stopped
and started again in the middle, then the workers' PostgreSQL connections cut a few times, and what every
response was in each stretch of time.

The pure part (:func:`window_of`, :func:`classify`, :func:`verdict`, :func:`fault_table`) needs neither
locust nor a server: ``tests/test_load_faults.py`` runs it on made-up timelines.

A timeline entry is what ``locustfile.py`` records per response with ``LOAD_TIMELINE`` set:
``[time, endpoint, status, code, JSON body, Retry-After given]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The endpoints (locust names) that spend a rate limit: refused with 503 while the cache is down.
LIMITED = frozenset(
    {
        "POST /api/auth/token/",
        "POST /api/auth/token/ (TOTP)",
        "POST /api/auth/token/ (TOTP replayed)",
        "POST /api/tokens/validate/",
        "POST /api/tokens/<ref>/registrar/",
    }
)
#: The endpoints that must keep answering 2xx while Redis is down (they spend no limit).
UNLIMITED = frozenset(
    {
        "GET /api/api-tokens/ (API token)",
        "GET /api/auth/sessoes/ (JWT)",
        "POST /api/auth/token/refresh/",
        "GET /api/tokens/?estado=novo",
        "POST /api/tokens/",
        "POST /api/tokens/<ref>/use/",
    }
)
UNAVAILABLE = "rate_limit_unavailable"
BEFORE, REDIS_DOWN, REDIS_BACK, DB_CUT, AFTER = "before", "Redis down", "Redis back", "connections cut", "after"
WINDOWS = (BEFORE, REDIS_DOWN, REDIS_BACK, DB_CUT, AFTER)


@dataclass
class Window:
    """What the responses of one stretch of time were: ``(endpoint, outcome)`` -> count, where the outcome
    is the status, its code, and ``non-JSON`` / ``no Retry-After`` when a 5xx lacked them."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def total(self, endpoints: Iterable[str], test: Any) -> int:
        names = set(endpoints)
        return sum(n for (name, outcome), n in self.counts.items() if name in names and test(outcome))


def outcome(status: int, code: str, is_json: bool, retry_after: bool) -> str:
    """``"200"``, ``"503 rate_limit_unavailable"``, ``"500 (non-JSON)"``, ``"0"`` (no response)..."""
    text = f"{status} {code}".strip()
    if status >= 500 and not is_json:
        text += " (non-JSON)"
    if status == 503 and not retry_after:
        text += " (no Retry-After)"
    return text


def window_of(t: float, marks: dict[str, float]) -> str:
    """The stretch ``t`` falls in, from the run's ``marks``: the time each of :data:`WINDOWS` but the first
    began (``marks[REDIS_DOWN]`` when Redis was stopped, and so on)."""
    label = BEFORE
    for name in WINDOWS[1:]:
        if name in marks and t >= marks[name]:
            label = name
    return label


def classify(timeline: Iterable[Sequence[Any]], marks: dict[str, float]) -> dict[str, Window]:
    windows = {name: Window() for name in WINDOWS}
    for t, name, status, code, is_json, retry_after in timeline:
        windows[window_of(float(t), marks)].counts[(name, outcome(int(status), code, is_json, retry_after))] += 1
    return windows


def _ok(o: str) -> bool:
    return o[:1] == "2"


def _answered(o: str) -> bool:
    """The app answered as it does when nothing is wrong: 2xx, or its own 4xx (a replayed code's 401)."""
    return o[:1] in ("2", "4")


def verdict(windows: dict[str, Window]) -> list[tuple[str, bool, str]]:
    """The checks of the fault run, each ``(what, held, detail)``."""
    down, back, cut, after = windows[REDIS_DOWN], windows[REDIS_BACK], windows[DB_CUT], windows[AFTER]
    checks = []
    everywhere = Counter()
    for window in windows.values():
        everywhere.update(window.counts)
    all_ = Window(everywhere)
    five = [k for k in WINDOWS if k != DB_CUT]
    n500 = sum(windows[k].total(LIMITED | UNLIMITED, lambda o: o.startswith("500")) for k in five)
    checks.append(("no 500 outside the cut connections", n500 == 0, f"{n500} responses 500"))
    lost = all_.total(LIMITED | UNLIMITED, lambda o: o.startswith("0"))
    checks.append(("every request got an answer (no hang, no reset)", lost == 0, f"{lost} without a response"))
    raw = all_.total(LIMITED | UNLIMITED, lambda o: "non-JSON" in o or o.startswith(f"503 {UNAVAILABLE} (no"))
    checks.append((f"every 5xx is JSON, every 503 {UNAVAILABLE} has Retry-After", raw == 0, f"{raw} that are not"))
    kept = down.total(UNLIMITED, _ok)
    failed = down.total(UNLIMITED, lambda o: o[:1] == "5")
    checks.append(
        (
            "Redis down: API token, JWT, refresh, issuance and use keep working",
            kept > 0 and failed == 0,
            f"{kept} 2xx, {failed} 5xx",
        )
    )
    refused = down.total(LIMITED, lambda o: o == f"503 {UNAVAILABLE}")
    other5 = down.total(LIMITED, lambda o: o[:1] == "5" and o != f"503 {UNAVAILABLE}")
    checks.append(
        (
            "Redis down: what spends a limit gets 503 rate_limit_unavailable",
            refused > 0 and other5 == 0,
            f"{refused} 503 rate_limit_unavailable, {other5} other 5xx",
        )
    )
    refused_names = sorted({name for (name, o) in down.counts if name in LIMITED and o.startswith("503")})
    later = Window(back.counts + cut.counts + after.counts)
    missing = [name for name in refused_names if not later.total([name], _answered)]
    again = back.total(LIMITED, _ok)
    checks.append(
        (
            "Redis back: each endpoint refused meanwhile is answered again",
            bool(refused_names) and not missing,
            f"{again} 2xx in the first stretch" + (f"; nothing but 5xx for {', '.join(missing)}" if missing else ""),
        )
    )
    errors = cut.total(LIMITED | UNLIMITED, lambda o: o[:1] == "5")
    served = after.total(LIMITED | UNLIMITED, _ok)
    bad_after = after.total(LIMITED | UNLIMITED, lambda o: o[:1] == "5")
    checks.append(
        (
            "connections cut: the next requests succeed",
            served > 0 and bad_after == 0,
            f"{errors} 5xx while cutting; afterwards {served} 2xx, {bad_after} 5xx",
        )
    )
    return checks


def fault_table(windows: dict[str, Window]) -> list[str]:
    """A row per endpoint and outcome, a column per stretch of time."""
    keys = sorted({key for window in windows.values() for key in window.counts})
    lines = ["| endpoint | outcome | " + " | ".join(WINDOWS) + " |", "|---|---|" + "---|" * len(WINDOWS)]
    for name, result in keys:
        cells = [f"{windows[w].counts.get((name, result), 0):,}" for w in WINDOWS]
        lines.append(f"| `{name}` | {result} | " + " | ".join(cells) + " |")
    return lines


def verdict_table(checks: list[tuple[str, bool, str]]) -> list[str]:
    lines = ["| check | held | detail |", "|---|---|---|"]
    for what, ok, detail in checks:
        lines.append(f"| {what} | {'✓' if ok else '✗ **FAILED**'} | {detail} |")
    return lines
