"""The audit log at a million events: what a page, a filter, a per-object log and the access history cost with
1,000 and with 1,000,000 events; how fast the webhook worker drains its outbox; whether the retention purge
holds up inserts. On PostgreSQL, in one run.

Two databases, ``convites_bench_1k`` and ``convites_bench_1m``, hold the same users, invites, API tokens and
JWT sessions and differ only in the number of audit events; one more user, kept alike, has the same
credentials and the same events in both (the fair subject of the access history). One Django settings names
both (two aliases); a database router sends every query to the alias picked for the request, so requests to
the two sizes interleave chunk by chunk in one process. Requests go straight into Django's WSGI handler with a prebuilt
environ (what gunicorn calls, minus sockets), authenticated by the app's own API tokens.

Run it from the repository root (see ``benchmarks/README.md``; PostgreSQL from ``PGHOST``, ``PGPORT``,
``PGUSER``, ``PGPASSWORD``, by default ``postgres@127.0.0.1:5432``):

    python -m benchmarks.audit_scale --output benchmarks/audit_results.md   # about 9 minutes on 2 cores
    python -m benchmarks.audit_scale --small                                  # a quick look, about 2 minutes
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from benchmarks.audit_scale.cases import build_cases
from benchmarks.audit_scale.databases import (
    LARGE,
    PREFIX,
    SMALL,
    configure,
    drop_databases,
    recreate_databases,
    size_label,
)
from benchmarks.audit_scale.fill import fill
from benchmarks.audit_scale.measure import measure
from benchmarks.audit_scale.purge import inserter_main, measure_purge
from benchmarks.audit_scale.report import machine, report, server_settings
from benchmarks.audit_scale.subjects import choose_subjects, mint_tokens
from benchmarks.audit_scale.webhook_throughput import measure_webhooks, receiver_main, worker_main
from benchmarks.audit_scale.world import build_world
from benchmarks.audit_scale.wsgi import deep_cursor


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("receiver", "worker", "inserter"):
        sub = argparse.ArgumentParser()
        sub.add_argument("role")
        sub.add_argument("--db")
        sub.add_argument("--url")
        sub.add_argument("--batch", type=int, default=10)
        sub.add_argument("--interval", type=float, default=0.005)
        sub.add_argument("--actor", type=int)
        args = sub.parse_args()
        if args.role == "receiver":
            receiver_main()
        elif args.role == "worker":
            worker_main(args.db, args.url, args.batch)
        else:
            inserter_main(args.db, args.interval, args.actor)
        return
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.audit_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="audit events in the large database")
    parser.add_argument("--small-rows", type=int, default=1000, help="audit events in the small database")
    parser.add_argument("--small", action="store_true", help="a quick look: 100,000 rows and fewer requests")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per case and size")
    parser.add_argument("--chunk", type=int, default=20, help="requests per case and size before the next")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--deliveries", type=int, default=2000, help="outbox rows per webhook run")
    parser.add_argument("--webhook-rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10, help="deliver_due(batch=...)")
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between inserts during the purge")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--no-webhooks", action="store_true")
    parser.add_argument("--no-purge", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the convites_bench_* databases")
    parser.add_argument("--output", type=Path, help="also write the tables (Markdown) to this file")
    args = parser.parse_args()
    if args.small:
        args.rows, args.requests, args.deliveries, args.webhook_rounds = 100_000, 60, 500, 1
    started = time.perf_counter()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    names = {SMALL: PREFIX + size_label(args.small_rows), LARGE: PREFIX + size_label(args.rows)}
    print(f"databases: {names[SMALL]}, {names[LARGE]}", flush=True)
    recreate_databases(list(names.values()))
    try:
        configure(names)
        from django_convites.models import AuditEvent

        now = datetime.now(timezone.utc).replace(microsecond=0)
        world = build_world(args.seed, now.timestamp())
        fills = {}
        for alias, rows in ((SMALL, args.small_rows), (LARGE, args.rows)):
            fills[alias] = fill(alias, world, rows, args.seed + rows)
            print(f"filled {names[alias]}: " + ", ".join(f"{k} {v:.1f} s" for k, v in fills[alias].items()), flush=True)
        subjects = choose_subjects(world)
        mint_tokens(subjects, now)
        from django.core.handlers.wsgi import WSGIHandler

        deep = deep_cursor(WSGIHandler(), subjects.root_header)
        cases = build_cases(subjects, now, deep)
        before = {alias: AuditEvent.objects.using(alias).count() for alias in (SMALL, LARGE)}
        print(f"measuring {len(cases)} cases x 2 sizes x {args.requests} requests", flush=True)
        results = measure(cases, args.requests, args.chunk, args.warmup)
        writes = sum(AuditEvent.objects.using(alias).count() - before[alias] for alias in (SMALL, LARGE))
        for result in results:
            print(
                f"{result.case.key:12} p95 {result.p(SMALL, 0.95):7.2f} / {result.p(LARGE, 0.95):7.2f} ms "
                f"ratio {result.ratio:5.2f} rows {result.shape[SMALL]} / {result.shape[LARGE]} "
                f"{'; '.join(', '.join(p.reads + p.flags) for p in result.plans[LARGE])}",
                flush=True,
            )
        webhooks = None
        if not args.no_webhooks:
            print("webhooks", flush=True)
            webhooks = measure_webhooks(names[LARGE], args.deliveries, args.webhook_rounds, args.batch)
        purge = None
        if not args.no_purge:
            print("purge", flush=True)
            purge = measure_purge(names[LARGE], subjects, 10.0, args.interval)
        about = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "load": load,
            "python": platform.python_version(),
            "django": version("django"),
            "drf": version("djangorestframework"),
            "psycopg": version("psycopg"),
            "postgres": server_settings(),
            "small": args.small_rows,
            "large": args.rows,
            "fill": sum(sum(timing.values()) for timing in fills.values()),
            "copy": fills[LARGE]["copy"],
            "vacuum": fills[LARGE]["vacuum"],
            "requests": max(1, args.requests // args.chunk) * args.chunk,
            "chunk": args.chunk,
            "interval": args.interval,
            "steady": world.steady,
            "notes": subjects.notes,
            "writes": writes,
            "elapsed": time.perf_counter() - started,
        }
        text = report(about, results, webhooks, purge)
        print(text)
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # settings may not be configured yet
            pass
        if not args.keep:
            drop_databases(list(names.values()))


if __name__ == "__main__":
    main()
