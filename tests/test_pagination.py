"""``valid_position``: the check of a cursor's position against the field it orders by."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from django_convites.api.pagination import valid_position
from django_convites.models import AuditEvent, Invite, SessionFamily


def test_a_position_is_checked_as_a_value_of_the_ordering_field():
    assert valid_position(Invite, "-created_at", "2024-05-01 12:00:00+00:00", DEFAULT_DB_ALIAS)
    assert not valid_position(Invite, "-created_at", "not a date", DEFAULT_DB_ALIAS)
    assert valid_position(AuditEvent, "-id", "42", DEFAULT_DB_ALIAS)
    assert not valid_position(AuditEvent, "-id", "abc", DEFAULT_DB_ALIAS)


def test_the_reverse_side_of_a_relation_is_no_position():
    # SessionFamily.refresh_tokens is a relation's reverse side, not a column: no cursor orders by it.
    assert not valid_position(SessionFamily, "-refresh_tokens", "1", DEFAULT_DB_ALIAS)
