"""The report, in Markdown: the machine and the run, the table of cases with what their plans read and the
verdict, the webhook worker's throughput, the inserts during the purge, and the plans of the cases that missed
the target because of the query."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from benchmarks.audit_scale.databases import AUDIT_TABLE, LARGE, SMALL
from benchmarks.audit_scale.measure import TARGET, Result, percentile
from benchmarks.audit_scale.plans import SCAN_LIMIT, SORT_LIMIT
from benchmarks.audit_scale.world import (
    N_ADMIN,
    N_GESTOR,
    N_INVITES,
    N_ROOT,
    N_SESSIONS,
    N_TOKENS,
    N_USERS,
    STEADY_DAYS,
)


def machine() -> str:
    model = ""
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
                break
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores{memory}"


def server_settings() -> str:
    from django.db import connections

    with connections[SMALL].cursor() as cursor:
        values = []
        for name in ("server_version", "shared_buffers", "work_mem", "random_page_cost", "effective_cache_size"):
            cursor.execute(f"SHOW {name}")
            values.append((name, cursor.fetchone()[0]))
    version_text = values[0][1].split()[0]
    return f"PostgreSQL {version_text} ({', '.join(f'{name} {value}' for name, value in values[1:])})"


def ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def page_sized(result: Result, controls: dict[str, Result]) -> bool:
    """Whether a case missed the target only for the size of its page: the small log returned fewer rows, the
    plan at the large size read about one page (no more than three rows per row returned), and the same
    request asking for as many rows at both sizes met the target."""
    control = controls.get(result.case.key)
    return control is not None and control.case.holds == "rows" and control.met and one_page(result, same_rows=False)


def own_uses(result: Result, controls: dict[str, Result]) -> bool:
    """Whether a case missed the target only for its subject's own uses: the access history of a user with
    more uses in the large log than in the small one, and the same request for the user kept alike, whose
    credentials and uses are the same at both sizes, met the target."""
    control = controls.get(result.case.key)
    return (
        control is not None
        and control.case.holds == "uses"
        and control.met
        and result.shape[SMALL] != result.shape[LARGE]
    )


def one_page(result: Result, *, same_rows: bool = True) -> bool:
    """Whether the plans at the large size read about one page (no more than three rows per row returned,
    nothing flagged), the page having as many rows as at the small size unless ``same_rows`` is false."""
    rows = result.shape[LARGE]
    if not rows.isdigit() or result.flags or (same_rows and rows != result.shape[SMALL]):
        return False
    return sum(plan.rows_read for plan in result.plans[LARGE]) <= 3 * (int(rows) + 1)


def same_plans(first: list[list[str]], second: list[list[str]]) -> bool:
    """Whether two cases' plans read the audit table the same way (the same nodes and indexes, whatever the
    counts)."""

    def shape(reads: list[list[str]]) -> list[list[str]]:
        return [[item.split(" (")[0] for item in plan] for plan in reads]

    return shape(first) == shape(second)


def report(about: dict, results: list[Result], webhooks: list[dict] | None, purge: dict | None) -> str:
    small, large = about["small"], about["large"]
    s, big = f"{small:,}", f"{large:,}"
    steady = about["steady"]
    lines = [
        f"Measured {about['date']} on {about['machine']}, load average {about['load']} at the start; "
        f"Python {about['python']}, Django {about['django']}, DRF {about['drf']}, psycopg {about['psycopg']}, "
        f"{about['postgres']}.",
        "",
        f"Both databases hold {N_USERS:,} users ({N_ROOT} root, {N_ADMIN} admin, {N_GESTOR} gestor, "
        f"{N_USERS - N_ROOT - N_ADMIN - N_GESTOR} usuario), {N_INVITES:,} invites, {N_TOKENS:,} API tokens and "
        f"{N_SESSIONS:,} JWT sessions; one has {s} audit events, the other {big}, over the past year "
        f"(filled in {about['fill']:.0f} s: `COPY` of the {big} events {about['copy']:.0f} s, `VACUUM ANALYZE` "
        f"{about['vacuum']:.0f} s). Both also hold the user kept alike, one more user of role usuario, with "
        f"{len(steady.tokens)} API tokens, {len(steady.sessions)} JWT sessions and the same {len(steady.events):,} "
        f"events of its own, mostly uses of those credentials over the last {STEADY_DAYS} days, placed among the "
        "others in time order; no other event names its credentials. "
        f"Whole run: {about['elapsed'] / 60:.1f} minutes.",
        "",
        f"Per case, {about['requests']} timed requests at each size through Django's WSGI handler, interleaved "
        f"between the two databases in chunks of {about['chunk']}. Rows: what the page returned. Audit rows read: "
        "what the `EXPLAIN ANALYZE` of the page's audit queries read from the table (kept and filtered out), "
        f"at {s} / {big}. Target: p95 at {big} at most {TARGET}× the p95 at {s}, and in the plans at {big} no "
        f"Seq Scan of the audit table, no scan of it reading more than {SCAN_LIMIT:,} rows and no Sort of more "
        f"than {SORT_LIMIT:,} rows."
        + (
            " The log had as many rows after the measurement as before: authentication wrote nothing."
            if not about["writes"]
            else ""
        ),
        "",
        f"| case | request | rows {s} / {big} | p50 ms {s} / {big} | p95 ms {s} / {big} | p95 ratio | queries "
        f"| audit rows read {s} / {big} | how the plan at {big} reads `{AUDIT_TABLE}` |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    controls = {result.case.control_of: result for result in results if result.case.control_of}
    for result in results:
        plans = result.plans[LARGE]
        how = "; ".join(", ".join(plan.reads) for plan in plans)
        if result.flags:
            how += " — **" + ", ".join(result.flags) + "**"
        mark = "✓"
        if not result.met:
            mark = "✗ (rows)" if page_sized(result, controls) else "✗ (uses)" if own_uses(result, controls) else "✗"
        read_small = sum(plan.rows_read for plan in result.plans[SMALL])
        read_large = sum(plan.rows_read for plan in plans)
        queries = result.queries[SMALL]
        shown_queries = str(queries) if queries == result.queries[LARGE] else f"{queries} / {result.queries[LARGE]}"
        lines.append(
            f"| {result.case.label} | {result.case.shown} | {result.shape[SMALL]} / {result.shape[LARGE]} "
            f"| {ms(result.p(SMALL, 0.5))} / {ms(result.p(LARGE, 0.5))} "
            f"| {ms(result.p(SMALL, 0.95))} / {ms(result.p(LARGE, 0.95))} | {result.ratio:.2f} {mark} "
            f"| {shown_queries} | {read_small:,} / {read_large:,} | {how} |"
        )
    cases = [result for result in results if not result.case.control_of]
    met = sum(result.met for result in cases)
    lines += ["", f"{met} of {len(cases)} cases met the target as measured."]
    by_page = [result for result in cases if not result.met and page_sized(result, controls)]
    by_uses = [result for result in cases if not result.met and own_uses(result, controls)]
    explained = by_page + by_uses
    by_time = [result for result in cases if not result.met and result not in explained and one_page(result)]
    by_query = [result for result in cases if not result.met and result not in explained + by_time]

    def named(items: list[Result]) -> str:
        return "; ".join(result.case.label for result in items)

    if by_page:
        lines[-1] += (
            f" Missed only for the size of the page ({len(by_page)}: {named(by_page)}): the small log has fewer "
            f"matching rows, the plan at {big} reads about one page, and asked for as many rows at both sizes "
            "(the ↳ row) the case meets the target."
        )
    if by_uses:
        lines[-1] += (
            f" Missed for the subject's own uses ({len(by_uses)}: {named(by_uses)}): the user has more uses at "
            f"{big} than at {s} (the rows column), and for the user kept alike, the same credentials and uses at "
            "both sizes (the ↳ row), the request meets the target."
        )
    if by_time:
        lines[-1] += (
            f" Missed on timing alone ({len(by_time)}: {named(by_time)}): the plan at {big} reads one page and "
            f"the page has as many rows as at {s}; what is left is the machine's noise, or pages of the large "
            "table that PostgreSQL's buffers do not hold."
        )
    if by_query:
        lines[-1] += f" Missed because of the query ({len(by_query)}: {named(by_query)})."
    lines += ["", "Subjects: " + "; ".join(about["notes"].values()) + f" (at {s} / {big})."]
    if about["writes"]:
        lines += ["", f"**Warning**: the audit log grew by {about['writes']} rows while it was measured."]
    if webhooks:
        lines += [
            "",
            f"The webhook worker: each run delivers {webhooks[0]['rows'] // webhooks[0]['rounds']:,} pending "
            "outbox rows (the payloads of real events) to a loopback receiver that answers 204 at once, with "
            "`deliver_due()` looping in separate processes until nothing is due.",
            "",
            "| workers | runs | deliveries/s (median; min–max) | seconds per run | ended `entregue` "
            "| failed | each id received once | duplicates | never received | bad signatures |",
            "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for item in webhooks:
            once = "yes" if not item["duplicates"] and not item["missing"] else "**no**"
            lines.append(
                f"| {item['workers']} | {item['rounds']} | {item['rate']:.0f} ({item['rate_min']:.0f}–"
                f"{item['rate_max']:.0f}) | {item['seconds']:.1f} | {item['entregue']:,} / {item['rows']:,} "
                f"| {item['failed']} | {once} | {item['duplicates']} | {item['missing']} | {item['bad_signatures']} |"
            )
    if purge:
        rate = purge["events"] / purge["seconds"] if purge["seconds"] else 0
        lines += [
            "",
            f"The retention purge: `purge_before()` deleted {purge['events']:,} of {purge['total']:,} events "
            f"(everything before {purge['cutoff']:%Y-%m-%d %H:%M}) in {purge['batches']} batches of 1,000, in "
            f"{purge['seconds']:.1f} s ({rate:,.0f} rows/s); a batch's `SELECT` of ids took "
            f"{purge['selects_first']:.1f} ms (median of the first 10) and {purge['selects_last']:.1f} ms (the "
            f"last 10), its `DELETE` {purge['deletes']:.1f} ms. Meanwhile another process wrote an "
            "`api_token_usado` event through the audit receiver every "
            f"{about['interval'] * 1000:.0f} ms.",
            "",
            "| inserts | count | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, values in (
            (f"before the purge ({purge['baseline']:.0f} s)", purge["before"]),
            (f"during the purge ({purge['seconds']:.0f} s)", purge["during"]),
        ):
            if values:
                lines.append(
                    f"| {label} | {len(values):,} | {percentile(values, 0.5):.2f} | {percentile(values, 0.99):.2f} "
                    f"| {max(values):.2f} |"
                )
        lines += ["", "The plan of a batch's `SELECT` of ids, before the purge:", "", "```text", purge["plan"], "```"]
    if by_query:
        lines += ["", f"Plans at {big} of the cases that missed the target because of the query (`EXPLAIN ANALYZE` "]
        lines[-1] += "of each audit query; a case whose plans read the table as a previous one's is left out):"
        shown: list[list[str]] = []
        for result in by_query:
            reads = [plan.reads for plan in result.plans[LARGE]]
            if any(same_plans(reads, other) for other in shown):
                continue
            shown.append(reads)
            lines += ["", f"{result.case.label}:", ""]
            for text in result.texts[LARGE]:
                lines += ["```text", text, "```"]
    return "\n".join(lines)
