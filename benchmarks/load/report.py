"""The Markdown report of a run: throughput and latency per endpoint from locust's CSV, for each number of
gunicorn workers side by side; the side-by-side of the three authentications; database transactions per
request; the invariants."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

COMPARED = (
    ("tiny view: DRF TokenAuthentication", "DRF `TokenAuthentication`"),
    ("tiny view: our API token", "django-convites, API token"),
    ("tiny view: our JWT", "django-convites, JWT access token"),
)


@dataclass(frozen=True)
class Row:
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Phase:
    """One locust run against one gunicorn: its rows by endpoint, and the database's counters."""

    rows: dict[str, Row]
    transactions: int = 0
    rows_read: int = 0
    rows_written: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    #: endpoint name -> [SQL statements, responses counted], from the ``X-Load-Queries`` header.
    queries: dict[str, list[int]] = field(default_factory=dict)

    def statements(self, name: str) -> str:
        total, counted = self.queries.get(name, (0, 0))
        return f"{total / counted:.2f}" if counted else "–"

    @property
    def total(self) -> Row:
        return self.rows["Aggregated"]


def _percentile(text: str) -> float:
    """A percentile of locust's CSV: "N/A" (or nothing) when no request of the row ended, read as 0."""
    return 0.0 if text in ("", "N/A") else float(text)


def read_stats(path: Path) -> dict[str, Row]:
    rows = {}
    with path.open(encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            rows[line["Name"]] = Row(
                requests=int(line["Request Count"]),
                failures=int(line["Failure Count"]),
                rps=float(line["Requests/s"]),
                p50=_percentile(line["50%"]),
                p95=_percentile(line["95%"]),
                p99=_percentile(line["99%"]),
            )
    return rows


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def mixed_table(phases: dict[int, Phase]) -> list[str]:
    counts = sorted(phases)
    header = "| endpoint | " + " | ".join(f"{w}w req/s | {w}w p50 / p95 / p99 ms" for w in counts)
    if len(counts) > 1:
        header += f" | req/s {counts[-1]}w ÷ {counts[0]}w"
    header += " | SQL statements / request"
    lines = [header + " |", "|---" * (2 + 2 * len(counts) + (len(counts) > 1)) + "|"]
    names = [n for n in phases[counts[0]].rows if n != "Aggregated"]
    for name in [*sorted(names), "Aggregated"]:
        cells = []
        for w in counts:
            row = phases[w].rows.get(name)
            if row is None:
                cells += ["–", "–"]
                continue
            failed = f" ({row.failures} failed)" if row.failures else ""
            cells += [f"{row.rps:,.1f}{failed}", f"{_ms(row.p50)} / {_ms(row.p95)} / {_ms(row.p99)}"]
        if len(counts) > 1:
            first, last = phases[counts[0]].rows.get(name), phases[counts[-1]].rows.get(name)
            cells.append(f"{last.rps / first.rps:.2f}×" if first and last and first.rps else "–")
        if name == "Aggregated":
            totals = [sum(v[i] for v in phases[counts[0]].queries.values()) for i in (0, 1)]
            cells.append(f"{totals[0] / totals[1]:.2f}" if totals[1] else "–")
        else:
            cells.append(phases[counts[0]].statements(name))
        label = "**all requests**" if name == "Aggregated" else f"`{name}`"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def database_table(phases: dict[int, Phase], label: str) -> list[str]:
    lines = [
        f"| workers | requests ({label}) | PostgreSQL transactions / request | rows read / request | rows written / request |",
        "|---|---|---|---|---|",
    ]
    for w, phase in sorted(phases.items()):
        n = max(phase.total.requests, 1)
        lines.append(
            f"| {w} | {phase.total.requests:,} | {phase.transactions / n:.2f} | {phase.rows_read / n:.1f} | "
            f"{phase.rows_written / n:.2f} |"
        )
    return lines


def compare_table(phases: dict[int, dict[str, list[Phase]]]) -> list[str]:
    """A row per worker count and authentication, from its runs (one locust run of ``CompareDrfToken``... a
    round): the median of each figure over the runs."""
    lines = [
        "| workers | authentication | req/s (range) | p50 ms | p99 ms | req/s ÷ DRF Token's (range) "
        "| SQL statements / request |",
        "|---|---|---|---|---|---|---|",
    ]
    for w, by_class in sorted(phases.items()):
        runs: dict[str, list[tuple[Row, float]]] = {}
        for class_runs in by_class.values():
            for phase in class_runs:
                for name, _label in COMPARED:
                    if name in phase.rows:
                        row = phase.rows[name]
                        total, counted = phase.queries.get(name, (0, 0))
                        runs.setdefault(name, []).append((row, total / counted if counted else float("nan")))
        base = [row.rps for row, _ in runs.get(COMPARED[0][0], [])]
        for name, label in COMPARED:
            if name not in runs:
                continue
            rps = [row.rps for row, _ in runs[name]]
            ratios = [a / b for a, b in zip(rps, base, strict=False) if b]
            failures = sum(row.failures for row, _ in runs[name])
            failed = f", {failures} failed" if failures else ""
            ratio = f"{median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})" if ratios else "–"
            lines.append(
                f"| {w} | {label} | {median(rps):,.0f} ({min(rps):,.0f}–{max(rps):,.0f}{failed}) | "
                f"{_ms(median(row.p50 for row, _ in runs[name]))} | {_ms(median(row.p99 for row, _ in runs[name]))} | "
                f"{ratio} | {median(t for _, t in runs[name]):.2f} |"
            )
    return lines


def outcomes_table(phases: dict[int, Phase]) -> list[str]:
    counts = sorted(phases)
    names = sorted({name for phase in phases.values() for name in phase.outcomes})
    lines = ["| endpoint -> status | " + " | ".join(f"{w}w" for w in counts) + " |", "|---" * (1 + len(counts)) + "|"]
    for name in names:
        lines.append(f"| `{name}` | " + " | ".join(f"{phases[w].outcomes.get(name, 0):,}" for w in counts) + " |")
    return lines


def findings_table(findings: dict[int, list[dict[str, Any]]]) -> list[str]:
    lines = ["| workers | invariant | held | what was checked |", "|---|---|---|---|"]
    for w, items in sorted(findings.items()):
        for item in items:
            mark = "✓" if item["ok"] else "✗ **FAILED**"
            lines.append(f"| {w} | {item['name']} | {mark} | {item['detail']} |")
    return lines
