from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from django_convites.audit import purge_before
from django_convites.conf import app_settings


class Command(BaseCommand):
    help = (
        "Delete audit events older than --days days (default: AUDIT_RETENTION_DAYS), in batches, with the "
        "webhook deliveries of that age that are done (delivered or dead)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            help="Keep events of the last DAYS days (default: DJANGO_CONVITES['AUDIT_RETENTION_DAYS']).",
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per statement.")

    def handle(self, *args: Any, days: int | None, batch_size: int, **options: Any) -> None:
        days = app_settings.AUDIT_RETENTION_DAYS if days is None else days
        if days is None:
            self.stderr.write(
                "Say how many days of events to keep: --days N, or DJANGO_CONVITES['AUDIT_RETENTION_DAYS']."
            )
            raise SystemExit(2)
        if days < 1 or batch_size < 1:
            self.stderr.write("--days and --batch-size must be at least 1.")
            raise SystemExit(2)
        cutoff = timezone.now() - timedelta(days=days)
        events, deliveries = purge_before(cutoff, batch_size=batch_size)
        self.stdout.write(
            f"Deleted {events} audit events and {deliveries} finished webhook deliveries older than "
            f"{cutoff.isoformat()}."
        )
