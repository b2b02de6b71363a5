from __future__ import annotations

import datetime
import json
import sys
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_convites.audit import iter_events


def moment(value: str, *, end_of_day: bool) -> datetime.datetime:
    """An ISO 8601 date (the start of that day, or its end with ``end_of_day``, in the site's time zone) or a
    date-time with an offset."""
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        pass
    else:
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        return start + datetime.timedelta(days=1, microseconds=-1) if end_of_day else start
    try:
        parsed = parse_datetime(value)  # ISO 8601, "Z" included, on every Python
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{value!r} is neither a date (2026-01-31) nor a date-time (2026-01-31T12:00:00-03:00).")
    if timezone.is_naive(parsed):
        raise CommandError(f"{value!r} has no offset: write it as 2026-01-31T12:00:00-03:00 (or Z for UTC).")
    return parsed


class Command(BaseCommand):
    help = (
        "Write audit events as JSON Lines (one event per line, as the audit API shows it), oldest first, to "
        "standard output or --output FILE: archive them before purging."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--desde", help="From this date or date-time with offset (inclusive).")
        parser.add_argument("--ate", help="Up to this date (its whole day) or date-time with offset (inclusive).")
        parser.add_argument("--output", metavar="FILE", help="Write to FILE instead of standard output.")

    def handle(self, *args: Any, desde: str | None, ate: str | None, output: str | None, **options: Any) -> None:
        since = None if desde is None else moment(desde, end_of_day=False)
        until = None if ate is None else moment(ate, end_of_day=True)
        if since is not None and until is not None and since > until:
            raise CommandError("--ate must not be before --desde.")
        if output is None:
            self._write(sys.stdout, since, until)
            return
        try:
            with open(output, "w", encoding="utf-8") as stream:
                count = self._write(stream, since, until)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        self.stderr.write(f"Wrote {count} audit events to {output}.")

    def _write(self, stream: IO[str], since: datetime.datetime | None, until: datetime.datetime | None) -> int:
        count = 0
        for event in iter_events(since=since, until=until):
            stream.write(json.dumps(event.to_wire(), cls=DjangoJSONEncoder) + "\n")
            count += 1
        return count
