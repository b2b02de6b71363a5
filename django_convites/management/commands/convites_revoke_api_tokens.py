from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from django_convites.models import ApiToken, Scope
from django_convites.services import api_tokens


class Command(BaseCommand):
    help = (
        "Revoke API tokens in bulk: those of a user, of a scope, or created more than --older-than days ago "
        "(the filters combine). Each revocation is audited. --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="Username of the tokens' owner.")
        parser.add_argument("--scope", choices=Scope.values, help="Only tokens of this scope.")
        parser.add_argument(
            "--older-than", type=int, metavar="DAYS", help="Only tokens created more than DAYS days ago."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be revoked; revoke nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        username, scope, days = options["user"], options["scope"], options["older_than"]
        if username is None and scope is None and days is None:
            raise CommandError(
                "Name at least one of --user, --scope and --older-than; revoking every token takes --older-than 0."
            )
        selected = ApiToken.objects.filter(revoked_at__isnull=True)
        if username is not None:
            user_model = get_user_model()
            owner = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
            if owner is None:
                raise CommandError(f"No user is named {username!r}.")
            selected = selected.filter(user=owner)
        if scope is not None:
            selected = selected.filter(scope=scope)
        if days is not None:
            if days < 0:
                raise CommandError("--older-than must be 0 or more.")
            selected = selected.filter(created_at__lte=timezone.now() - timedelta(days=days))
        if options["dry_run"]:
            self.stdout.write(f"{selected.count()} API tokens would be revoked.")
            return
        self.stdout.write(f"Revoked {api_tokens.bulk_revoke(selected)} API tokens.")
