from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.data import DEFAULT_PASSWORD, ensure_demo_data


class Command(BaseCommand):
    help = (
        "Create the demo users (root, admin, gestor, usuario), the role groups and an organization with two "
        "nuclei. Idempotent: a second run creates nothing, puts back a changed password, flag or group, and "
        "leaves what matches untouched (the demo users stay logged in)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password of every demo user (default: {DEFAULT_PASSWORD}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str = options["password"]
        if not password:
            raise CommandError("--password must not be empty.")
        data = ensure_demo_data(password)
        if options["verbosity"] < 1:
            return
        if data.created:
            self.stdout.write(self.style.SUCCESS(f"Demo data ready ({data.created} new rows)."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo data ready (nothing new to create)."))
        self.stdout.write(f"Organization: {data.organization} (nuclei: {', '.join(data.nuclei)})")
        self.stdout.write(f"Users, all with the password {password!r}:")
        for user in data.users:
            self.stdout.write(f"  {user.username:<8}  role {user.role:<8}  {user.description}")
