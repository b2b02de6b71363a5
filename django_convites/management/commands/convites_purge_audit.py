from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from django_convites.models import AuditEvent


class Command(BaseCommand):
    help = "Delete audit events older than --days days, in batches (the audit log's retention)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, required=True, help="Keep events of the last DAYS days.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per statement.")

    def handle(self, *args: Any, days: int, batch_size: int, **options: Any) -> None:
        if days < 1 or batch_size < 1:
            self.stderr.write("--days and --batch-size must be at least 1.")
            raise SystemExit(2)
        cutoff = timezone.now() - timedelta(days=days)
        deleted = AuditEvent.objects.purge_before(cutoff, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} audit events older than {cutoff.isoformat()}.")
