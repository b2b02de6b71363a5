from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_convites.services import api_tokens


class Command(BaseCommand):
    help = (
        "List live API tokens that were never used, or not used in the last --days days (default 90): owner, "
        "name, prefix, scope, created, last used. Nothing is changed; pipe the ids to a revocation if you wish."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=90, help="Idle for at least DAYS days (default 90).")

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 1:
            raise CommandError("--days must be at least 1.")
        stale = api_tokens.stale_api_tokens(idle_for=timedelta(days=days)).select_related("user").order_by("created_at")
        count = 0
        for token in stale.iterator():
            count += 1
            last = timezone.localtime(token.last_used_at).isoformat() if token.last_used_at else "never"
            self.stdout.write(
                f"{token.pk}  {token.user.get_username()}  {token.name or '-'}  {token.prefix}…  {token.scope}  "
                f"created {timezone.localtime(token.created_at).isoformat()}  last used {last}"
            )
        self.stdout.write(f"{count} stale API tokens (idle for {days} days or more).")
