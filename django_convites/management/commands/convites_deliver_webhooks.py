from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_convites.exceptions import NotFound
from django_convites.models import DeliveryState
from django_convites.services import webhooks
from django_convites.webhooks import destination


class Command(BaseCommand):
    help = (
        "Deliver the webhook outbox: send what is due and exit, or keep sending with --loop. "
        "--redeliver ID sends one delivery now, whatever its state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running: deliver what comes due until stopped.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="With --loop, seconds to wait when nothing is due (default 1)."
        )
        parser.add_argument("--batch", type=int, default=10, help="Deliveries claimed at a time (default 10).")
        parser.add_argument("--redeliver", type=int, metavar="ID", help="Send the delivery ID now and exit.")

    def handle(
        self, *args: Any, loop: bool, interval: float, batch: int, redeliver: int | None, **options: Any
    ) -> None:
        if batch < 1 or not 0 < interval <= 3600:
            raise CommandError("--batch must be at least 1, and --interval between 0 and 3600 seconds.")
        if redeliver is not None:
            self._redeliver(redeliver)
            return
        if not loop:
            self._report(webhooks.deliver_due(batch=batch))
            return
        stopping: list[int] = []

        def stop(signum: int, frame: Any) -> None:
            stopping.append(signum)

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        self.stdout.write("Delivering webhooks; stop with Ctrl-C or SIGTERM.")
        while not stopping:
            report = webhooks.deliver_due(batch=batch, limit=batch)
            if report.attempted:
                self._report(report)
            else:
                time.sleep(interval)
        self.stdout.write("Stopped.")

    def _report(self, report: webhooks.DeliveryReport) -> None:
        self.stdout.write(f"Delivered {report.delivered}, failed {report.failed} (retried later), dead {report.dead}.")

    def _redeliver(self, delivery_id: int) -> None:
        try:
            row = webhooks.redeliver(delivery_id)
        except NotFound:
            raise CommandError(f"No webhook delivery has the id {delivery_id}.") from None
        except webhooks.DeliveryInFlight as exc:
            raise CommandError(f"{exc}; try again in a moment.") from None
        if row.state == DeliveryState.DELIVERED:
            # Scheme, host and port only: the URL's path or query may hold a credential of the receiver's.
            self.stdout.write(f"Delivered {row.pk} to {destination(row.url)} (HTTP {row.last_status}).")
            return
        state = "dead" if row.state == DeliveryState.DEAD else "pending, retried later"
        raise CommandError(f"Delivery {row.pk} failed ({state}): {row.last_error}")
