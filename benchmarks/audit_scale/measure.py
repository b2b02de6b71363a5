"""The measurement: each case warmed up and its plans taken at both sizes, then timed requests interleaved
in chunks between the two databases; a case whose small log returns fewer rows is measured again with as
many rows at both sizes."""

from __future__ import annotations

import gc
import json
import math
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.audit_scale.cases import Case
from benchmarks.audit_scale.databases import AUDIT_TABLE, LARGE, ROUTE, SMALL
from benchmarks.audit_scale.plans import PlanSummary, explain, interpolate, shorten, summarize
from benchmarks.audit_scale.wsgi import call, capture

TARGET = 1.5  # p95 at the large size over p95 at the small size, at most


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def shape(body: bytes) -> str:
    data = json.loads(body)
    if "results" in data:
        return str(len(data["results"]))
    credentials = data["credenciais"]
    return f"{len(credentials)} cred., {sum(item['usos'] for item in credentials):,} uses"


@dataclass
class Result:
    case: Case
    shape: dict[str, str]
    queries: dict[str, int]
    samples: dict[str, list[float]]
    plans: dict[str, list[PlanSummary]]
    texts: dict[str, list[str]]

    def p(self, alias: str, fraction: float) -> float:
        return percentile(self.samples[alias], fraction)

    @property
    def ratio(self) -> float:
        return self.p(LARGE, 0.95) / self.p(SMALL, 0.95)

    @property
    def flags(self) -> list[str]:
        return [flag for plan in self.plans[LARGE] for flag in plan.flags]

    @property
    def met(self) -> bool:
        return self.ratio <= TARGET and not self.flags


def prepare(handler: Callable, case: Case, warmup: int) -> Result:
    """Warm the case up at both sizes; note its page, its queries and the plans of its audit queries."""
    shapes, queries, plans, texts = {}, {}, {}, {}
    for alias in (SMALL, LARGE):
        ROUTE.alias = alias
        for _ in range(warmup):
            status, body = call(handler, case.env)
            assert status.startswith("200"), (case.key, alias, status, body[:500])
        status, body, seen = capture(handler, alias, case.env)
        shapes[alias], queries[alias] = shape(body), len(seen)
        audit = [(sql, params) for sql, params in seen if AUDIT_TABLE in sql]
        explained = [explain(alias, sql, params) for sql, params in audit]
        plans[alias] = [summarize(plan) for plan, _ in explained]
        texts[alias] = [
            shorten(f"{interpolate(sql, params)}\n\n{text}")
            for (sql, params), (_, text) in zip(audit, explained, strict=True)
        ]
    return Result(case, shapes, queries, {SMALL: [], LARGE: []}, plans, texts)


def same_rows(result: Result) -> Case | None:
    """When a list returns fewer rows from the small log than from the large one, the same request with
    ``limite`` at the small log's count: what is left of the difference is the query's, not the page's."""
    small, large = result.shape[SMALL], result.shape[LARGE]
    if small == large or not small.isdigit():
        return None
    wanted = max(int(small), 1)
    case = result.case
    query = f"{case.query}&limite={wanted}" if case.query else f"limite={wanted}"
    return Case(
        key=f"{case.key}_same",
        label="↳ the same, as many rows at both sizes",
        shown=f"`limite={wanted}`",
        path=case.path,
        query=query,
        who=case.who,
        env=dict(case.env, QUERY_STRING=urllib.parse.quote(query, safe="=&")),
        control_of=case.key,
        holds="rows",
    )


def measure(cases: list[Case], requests: int, chunk: int, warmup: int) -> list[Result]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    results = []
    for case in cases:
        result = prepare(handler, case, warmup)
        results.append(result)
        control = same_rows(result)
        if control is not None:
            results.append(prepare(handler, control, warmup))
    gc.collect()
    gc.freeze()
    clock = time.perf_counter_ns
    passes = max(1, requests // chunk)
    started = time.perf_counter()
    for number in range(passes):
        gc.collect()
        order = (SMALL, LARGE) if number % 2 == 0 else (LARGE, SMALL)
        for result in results:
            env = result.case.env
            for alias in order:
                ROUTE.alias = alias
                for _ in range(2):
                    call(handler, env)
                timings = result.samples[alias]
                for _ in range(chunk):
                    begin = clock()
                    call(handler, env)
                    timings.append((clock() - begin) / 1e6)
        if number % 5 == 4 or number == passes - 1:
            print(f"  pass {number + 1}/{passes}, {time.perf_counter() - started:.0f} s", flush=True)
    gc.unfreeze()
    return results
