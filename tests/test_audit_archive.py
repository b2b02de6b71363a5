"""Retention and export of the audit log: ``convites_purge_audit`` and ``convites_export_audit``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_convites.audit import iter_events
from django_convites.models import AuditEvent, DeliveryState, WebhookDelivery
from tests.factories import api_as

pytestmark = pytest.mark.django_db

SITE = ZoneInfo("America/Sao_Paulo")  # tests/settings.py TIME_ZONE


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SITE)


def export(*args: str, capsys) -> list[dict]:
    call_command("convites_export_audit", *args)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# -- retention ----------------------------------------------------------------------------------------------


def delivery(state: str, created_at: datetime) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        event_id=1,
        event="teste",
        url="https://hooks.example.com/",
        payload="{}",
        state=state,
        created_at=created_at,
        delivered_at=created_at if state == DeliveryState.DELIVERED else None,
    )


def test_purge_takes_its_period_from_audit_retention_days(convites_settings, capsys):
    convites_settings(AUDIT_RETENTION_DAYS=30)
    AuditEvent.objects.create(event="velho", created_at=timezone.now() - timedelta(days=31))
    AuditEvent.objects.create(event="novo", created_at=timezone.now() - timedelta(days=29))
    call_command("convites_purge_audit")
    assert "Deleted 1 audit events" in capsys.readouterr().out
    assert list(AuditEvent.objects.values_list("event", flat=True)) == ["novo"]


def test_days_on_the_command_line_win_over_the_setting(convites_settings):
    convites_settings(AUDIT_RETENTION_DAYS=365)
    AuditEvent.objects.create(event="velho", created_at=timezone.now() - timedelta(days=31))
    call_command("convites_purge_audit", "--days", "30")
    assert not AuditEvent.objects.exists()


def test_purge_without_days_or_setting_refuses_and_deletes_nothing(capsys):
    AuditEvent.objects.create(event="velho", created_at=timezone.now() - timedelta(days=3000))
    with pytest.raises(SystemExit) as exit_:
        call_command("convites_purge_audit")
    assert exit_.value.code == 2
    assert "AUDIT_RETENTION_DAYS" in capsys.readouterr().err
    assert AuditEvent.objects.count() == 1


def test_purge_deletes_finished_deliveries_of_that_age_and_keeps_pending_ones():
    old = timezone.now() - timedelta(days=40)
    kept_pending = delivery(DeliveryState.PENDING, old)
    delivery(DeliveryState.DELIVERED, old)
    delivery(DeliveryState.DEAD, old)
    recent = delivery(DeliveryState.DELIVERED, timezone.now())
    call_command("convites_purge_audit", "--days", "30")
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {kept_pending.pk, recent.pk}


# -- export -------------------------------------------------------------------------------------------------


def test_export_writes_the_api_rows_oldest_first(users, capsys):
    root = users["root"]
    for days in (3, 1, 2):
        AuditEvent.objects.create(
            event=f"dia_{days}",
            actor=root,
            ip="192.0.2.1",
            details={"n": days},
            created_at=timezone.now() - timedelta(days=days),
        )
    lines = export(capsys=capsys)
    assert [line["evento"] for line in lines] == ["dia_3", "dia_2", "dia_1"]
    api_rows = api_as(root).get("/api/auditoria/").json()["results"]
    assert lines == list(reversed(api_rows)), "each line is the audit API's row"


def test_export_dates_cover_whole_days_in_the_site_time_zone(capsys):
    for moment in (at(2026, 1, 31, 0, 0), at(2026, 1, 31, 23, 59, 59), at(2026, 2, 1, 0, 0), at(2026, 1, 30, 23, 59)):
        AuditEvent.objects.create(event=moment.isoformat(), created_at=moment)
    lines = export("--desde", "2026-01-31", "--ate", "2026-01-31", capsys=capsys)
    assert [line["evento"] for line in lines] == [
        at(2026, 1, 31, 0, 0).isoformat(),
        at(2026, 1, 31, 23, 59, 59).isoformat(),
    ]


def test_export_date_times_need_an_offset_and_are_inclusive(capsys):
    moment = at(2026, 3, 1, 12, 0)
    AuditEvent.objects.create(event="meio_dia", created_at=moment)
    AuditEvent.objects.create(event="depois", created_at=moment + timedelta(seconds=1))
    lines = export("--ate", "2026-03-01T15:00:00Z", capsys=capsys)  # 12:00 in São Paulo
    assert [line["evento"] for line in lines] == ["meio_dia"]
    with pytest.raises(CommandError, match="offset"):
        call_command("convites_export_audit", "--desde", "2026-03-01T12:00:00")


@pytest.mark.parametrize(
    "args",
    [
        ("--desde", "ontem"),
        ("--ate", "2026-13-01"),
        ("--desde", "2026-02-01", "--ate", "2026-01-01"),
    ],
)
def test_export_refuses_bad_bounds(args):
    with pytest.raises(CommandError):
        call_command("convites_export_audit", *args)


def test_export_to_a_file(tmp_path, capsys):
    AuditEvent.objects.create(event="um")
    target = tmp_path / "audit.jsonl"
    call_command("convites_export_audit", "--output", str(target))
    assert [json.loads(line)["evento"] for line in target.read_text().splitlines()] == ["um"]
    assert "Wrote 1 audit events" in capsys.readouterr().err
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("convites_export_audit", "--output", str(tmp_path / "missing" / "audit.jsonl"))


def test_reading_in_chunks_walks_every_event_once_even_when_times_tie():
    moment = timezone.now() - timedelta(hours=1)
    made = [AuditEvent.objects.create(event=f"e{n}", created_at=moment).pk for n in range(5)]
    made += [AuditEvent.objects.create(event="depois").pk]
    assert [event.pk for event in iter_events(chunk=2)] == made
