"""The retention purge under load: ``purge_before()`` deletes the older half of the large log while another
process writes an event every few milliseconds, timing each write."""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from benchmarks.audit_scale.databases import LARGE, ROUTE, SMALL, configure
from benchmarks.audit_scale.processes import spawn
from benchmarks.audit_scale.subjects import Subjects


def inserter_main(database: str, interval: float, actor_id: int) -> None:
    """Write an ``api_token_usado`` event through the audit receiver every ``interval`` seconds, timing each
    write, from "go" until "stop" on stdin."""
    configure({SMALL: database})
    from django.contrib.auth import get_user_model
    from django.db import connection

    from django_convites import signals
    from django_convites.audit import Target
    from django_convites.models import ApiToken
    from django_convites.net import RequestMeta

    connection.ensure_connection()
    user = get_user_model().objects.get(pk=actor_id)
    token = ApiToken.objects.filter(user=user).first()
    meta = RequestMeta(ip="203.0.113.7", user_agent="python-requests/2.32.3")
    print("ready", flush=True)
    sys.stdin.readline()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    samples = []
    while not stop.is_set():
        at = time.time()
        begin = time.perf_counter()
        signals.api_token_used.send(
            sender=ApiToken, actor=user, target=Target("api_token", str(token.pk)), meta=meta, details={}
        )
        took = time.perf_counter() - begin
        samples.append((at, took * 1000))
        time.sleep(max(interval - took, 0))
    print(json.dumps(samples), flush=True)


def measure_purge(database: str, subjects: Subjects, baseline: float, interval: float) -> dict:
    """Purge the older half of the large log while another process inserts events; time both."""
    from django.db import connections

    from django_convites.audit import purge_before
    from django_convites.models import AuditEvent

    ROUTE.alias = LARGE
    total = AuditEvent.objects.count()
    cutoff = AuditEvent.objects.order_by("created_at").values_list("created_at", flat=True)[total // 2]
    batch_query = AuditEvent.objects.filter(created_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:1000]
    batch_plan = batch_query.explain(analyze=True)
    inserter = spawn("inserter", "--db", database, "--interval", str(interval), "--actor", str(subjects.user_id))
    statements: list[tuple[str, float]] = []

    def timed(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        begin = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql.split(None, 1)[0], (time.perf_counter() - begin) * 1000))

    try:
        assert inserter.stdout.readline().strip() == "ready"
        inserter.stdin.write("go\n")
        inserter.stdin.flush()
        time.sleep(baseline)
        began = time.time()
        with connections[LARGE].execute_wrapper(timed):
            events, deliveries = purge_before(cutoff)
        ended = time.time()
        time.sleep(1)
        inserter.stdin.write("stop\n")
        inserter.stdin.flush()
        output, _ = inserter.communicate(timeout=120)
    finally:
        if inserter.poll() is None:
            inserter.kill()
    samples = json.loads(output.strip().splitlines()[-1])
    before = [ms for at, ms in samples if at < began]
    during = [ms for at, ms in samples if began <= at < ended]
    selects = [ms for kind, ms in statements if kind == "SELECT"]
    deletes = [ms for kind, ms in statements if kind == "DELETE"]
    return {
        "total": total,
        "cutoff": cutoff,
        "events": events,
        "deliveries": deliveries,
        "seconds": ended - began,
        "batches": len(deletes),
        "before": before,
        "during": during,
        "baseline": baseline,
        "selects_first": statistics.median(selects[:10]) if selects else 0.0,
        "selects_last": statistics.median(selects[-10:]) if selects else 0.0,
        "deletes": statistics.median(deletes) if deletes else 0.0,
        "plan": batch_plan,
    }
