from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_convites.models import InviteQuota
from django_convites.services import auth_codes, sessions


class Command(BaseCommand):
    help = (
        "Delete what has stopped mattering, in batches: expired refresh tokens, sessions left with none, "
        "daily invite counters of past days and expired authentication codes. Invites, API tokens and audit "
        "events are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per statement (default 1000).")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        tokens, families = sessions.purge_expired(batch_size=batch_size)
        # The counter of today and yesterday may still be read in any time zone; older ones never are.
        quotas, _ = InviteQuota.objects.filter(day__lt=(timezone.now() - timedelta(days=2)).date()).delete()
        codes = auth_codes.purge_expired(batch_size=batch_size)
        self.stdout.write(
            f"Deleted {tokens} expired refresh tokens, {families} ended sessions, {quotas} old invite counters "
            f"and {codes} expired authentication codes."
        )
