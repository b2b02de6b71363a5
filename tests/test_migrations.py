from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_migrations_unapply_and_apply_again():
    call_command("migrate", "django_convites", "zero", verbosity=0)
    assert "django_convites_auditevent" not in connection.introspection.table_names()
    call_command("migrate", "django_convites", verbosity=0)
    tables = connection.introspection.table_names()
    assert "django_convites_auditevent" in tables
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "django_convites_auditevent")
    assert {
        "convites_audit_time_idx",
        "convites_audit_actor_time_idx",
        "convites_audit_actor_ev_idx",
        "convites_audit_event_time_idx",
        "convites_audit_target_time_idx",
        "convites_audit_ttype_time_idx",
        "convites_audit_ip_time_idx",
    } <= set(constraints)
    assert "django_convites_webhookdelivery" in tables
