"""``EXPLAIN (ANALYZE, BUFFERS)`` of a request's audit queries, and what its plan says: the nodes that read the
audit table, how many rows they went through, and what is flagged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks.audit_scale.databases import AUDIT_TABLE

SORT_LIMIT = 1000  # a Sort over more input rows than this is flagged
SCAN_LIMIT = 5000  # so is a scan of the audit table that reads more rows than this


def explain(alias: str, sql: str, params: Any) -> tuple[dict, str]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        text = "\n".join(row[0] for row in cursor.fetchall())
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0], text


def shorten(text: str) -> str:
    """Long array literals (the ids of a user's credentials) cut down to their count, to keep plans readable."""
    return re.sub(r"'\{([^}]{120,})\}'", lambda match: f"'{{{match.group(1).count(',') + 1} values}}'", text)


def interpolate(sql: str, params: Any) -> str:
    """The statement with its parameters in place, to read (not to run)."""
    try:
        return sql % tuple(repr(str(value)) if not isinstance(value, (int, float)) else value for value in params or ())
    except (TypeError, ValueError):
        return f"{sql} -- {params!r}"


def walk(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


@dataclass
class PlanSummary:
    reads: list[str]
    rows_read: int
    flags: list[str]
    ms: float


def summarize(plan: dict) -> PlanSummary:
    """The nodes that read the audit table (how, and how many rows they went through), and any Seq Scan of
    it or Sort over a large input."""
    reads, rows_read, flags = [], 0, []
    for node in walk(plan["Plan"]):
        kind = node["Node Type"]
        loops = node.get("Actual Loops", 1)
        if node.get("Relation Name") == AUDIT_TABLE:
            seen = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            seen += node.get("Rows Removed by Index Recheck", 0)
            seen *= loops
            rows_read += seen
            if kind == "Bitmap Heap Scan":
                indexes = [child["Index Name"] for child in walk(node) if child["Node Type"] == "Bitmap Index Scan"]
                how = f"Bitmap Heap Scan on {' + '.join(indexes)}"
            else:
                backward = " Backward" if node.get("Scan Direction") == "Backward" else ""
                how = kind + backward + (f" using {node['Index Name']}" if "Index Name" in node else "")
            reads.append(f"{how} ({seen:,} rows)")
            if kind == "Seq Scan":
                flags.append("Seq Scan")
            elif seen > SCAN_LIMIT:
                flags.append(f"a scan of {seen:,} rows")
        if kind == "Sort":
            child = node["Plans"][0]
            into = child.get("Actual Rows", 0) * child.get("Actual Loops", 1)
            if into > SORT_LIMIT:
                flags.append(f"Sort of {into:,} rows")
    return PlanSummary(reads, rows_read, flags, plan.get("Execution Time", 0.0))
