"""The webhook worker's throughput: a loopback receiver in a subprocess, pending outbox rows made of real
events, and 1 or 4 worker processes running ``deliver_due()`` until nothing is due."""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import sys
import threading
import time
from collections import Counter
from typing import Any

from benchmarks.audit_scale.databases import LARGE, ROUTE, SMALL, WEBHOOK_SECRET, configure
from benchmarks.audit_scale.processes import spawn


def receiver_main() -> None:
    """A loopback webhook receiver: 204 at once to every POST, counting each ``X-Convites-Entrega`` and
    checking its signature; ``GET /counts`` answers what it counted."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: Counter[str] = Counter()
    bad = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parts = dict(part.split("=", 1) for part in self.headers.get("X-Convites-Assinatura", "").split(","))
            expected = hmac.new(WEBHOOK_SECRET.encode(), f"{parts.get('t')}.".encode() + body, hashlib.sha256)
            good = hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))
            with lock:
                seen[self.headers.get("X-Convites-Entrega", "")] += 1
                bad[0] += not good
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                answer = json.dumps({"counts": seen, "bad_signatures": bad[0]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def worker_main(database: str, url: str, batch: int) -> None:
    """One webhook worker: ``deliver_due()`` until nothing is due, once told to start."""
    configure({SMALL: database}, webhook_url=url)
    from django.db import connection

    from django_convites.services.webhooks import deliver_due

    connection.ensure_connection()
    print("ready", flush=True)
    sys.stdin.readline()
    begin = time.time()
    totals = Counter()
    while True:
        report = deliver_due(batch=batch)
        if not report.attempted:
            break
        totals.update(delivered=report.delivered, failed=report.failed, dead=report.dead)
    print(json.dumps({"begin": begin, "end": time.time(), **totals}), flush=True)


def receiver_counts(port: int) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/counts") as answer:
        return json.loads(answer.read())


def measure_webhooks(database: str, deliveries: int, rounds: int, batch: int) -> list[dict]:
    """``deliveries`` pending rows made of real events, delivered by 1 worker, then by 4, ``rounds`` times."""
    from django_convites.models import AuditEvent, DeliveryState, WebhookDelivery
    from django_convites.webhooks import payload_of

    ROUTE.alias = LARGE
    receiver = spawn("receiver")
    try:
        port = int(receiver.stdout.readline())
        url = f"http://127.0.0.1:{port}/hook"
        events = list(AuditEvent.objects.order_by("-id")[:deliveries])
        payloads = [(event, payload_of(event)) for event in events]
        runs: dict[int, list[dict]] = {1: [], 4: []}
        for number in range(rounds):
            for workers in (1, 4) if number % 2 == 0 else (4, 1):
                processes = [
                    spawn("worker", "--db", database, "--url", url, "--batch", str(batch)) for _ in range(workers)
                ]
                for process in processes:
                    assert process.stdout.readline().strip() == "ready"
                rows = WebhookDelivery.objects.bulk_create(
                    WebhookDelivery(
                        event_id=event.pk,
                        event=event.event,
                        actor_pk="" if event.actor_id is None else str(event.actor_id),
                        url=url,
                        payload=payload,
                    )
                    for event, payload in payloads
                )
                ids = [row.pk for row in rows]
                for process in processes:
                    process.stdin.write("go\n")
                    process.stdin.flush()
                reports = []
                for process in processes:
                    output, _ = process.communicate(timeout=600)
                    reports.append(json.loads(output.strip().splitlines()[-1]))
                states = Counter(WebhookDelivery.objects.filter(pk__in=ids).values_list("state", flat=True))
                seen = receiver_counts(port)["counts"]
                received = [seen.get(str(pk), 0) for pk in ids]
                seconds = max(r["end"] for r in reports) - min(r["begin"] for r in reports)
                runs[workers].append(
                    {
                        "seconds": seconds,
                        "rate": len(ids) / seconds,
                        "delivered": sum(r.get("delivered", 0) for r in reports),
                        "failed": sum(r.get("failed", 0) for r in reports),
                        "entregue": states.get(DeliveryState.DELIVERED, 0),
                        "rows": len(ids),
                        "duplicates": sum(1 for count in received if count > 1),
                        "missing": sum(1 for count in received if count == 0),
                    }
                )
                print(f"  {workers} worker(s): {len(ids) / seconds:.0f} deliveries/s", flush=True)
        bad = receiver_counts(port)["bad_signatures"]
    finally:
        receiver.terminate()
        receiver.wait()
    summary = []
    for workers, items in runs.items():
        summary.append(
            {
                "workers": workers,
                "rounds": len(items),
                "rows": sum(item["rows"] for item in items),
                "rate": statistics.median(item["rate"] for item in items),
                "rate_min": min(item["rate"] for item in items),
                "rate_max": max(item["rate"] for item in items),
                "seconds": statistics.median(item["seconds"] for item in items),
                "entregue": sum(item["entregue"] for item in items),
                "failed": sum(item["failed"] for item in items),
                "duplicates": sum(item["duplicates"] for item in items),
                "missing": sum(item["missing"] for item in items),
                "bad_signatures": bad,
            }
        )
    return summary
