"""Failure records survive a rolled-back ``transaction.atomic()`` outside any request (issue 11).

A management command or a task that calls a service inside ``atomic()`` and then rolls back must still
leave the reuse revocation, the failed tries and the failure events; nobody calls ``flush()`` here, and
no request ends. Real transactions (``transaction=True``), on every database of the CI.
"""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from django_convites._db import deferred
from django_convites.exceptions import CodeInvalid, TokenReused
from django_convites.models import AuditEvent, AuthCode, AuthCodeLimit, SessionFamily
from django_convites.services import auth_codes, sessions
from tests.factories import events, wrong_code
from tests.urls import test_done, test_failed

pytestmark = pytest.mark.django_db(transaction=True)

CODES: list[str] = []


def capture(user, code, purpose):
    CODES.append(code)
    return "teste"


class Rollback(Exception):
    """What the caller raises to roll its block back."""


def test_a_failure_event_survives_a_rolled_back_atomic(users):
    with pytest.raises(Rollback), transaction.atomic():
        test_failed.send(sender=None, actor=users["usuario"], details={"motivo": "x"})
        test_done.send(sender=None, actor=users["usuario"], details={})
        raise Rollback
    assert [event.details for event in events("teste_falhou")] == [{"motivo": "x"}]
    assert events("teste_feito") == []  # a success shares the fate of its transaction


def test_the_reuse_revocation_survives_a_rolled_back_atomic(users):
    pair = sessions.login(username="usuario", password="x")
    sessions.refresh(pair.refresh)
    with pytest.raises(TokenReused), transaction.atomic():
        sessions.refresh(pair.refresh)
    family = SessionFamily.objects.get()
    assert (family.revoked_at is not None, family.revoked_reason) == (True, "reuso")
    assert len(events("refresh_reutilizado")) == 1


def test_failed_tries_survive_a_rolled_back_atomic(users, convites_settings):
    convites_settings(AUTH_CODE_SENDER="tests.test_bookkeeping.capture")
    CODES.clear()
    user = users["usuario"]
    auth_codes.issue(user)
    with pytest.raises(Rollback), transaction.atomic():
        with pytest.raises(CodeInvalid):
            auth_codes.validate(user, wrong_code(CODES[-1]))
        raise Rollback
    assert AuthCode.objects.get().attempts == 1
    assert AuthCodeLimit.objects.get(user=user).consecutive_failures == 1
    assert len(events("codigo_falhou")) == 1


def test_a_failure_in_a_rolled_back_savepoint_waits_for_the_outer_block_and_survives_it(users):
    with pytest.raises(Rollback), transaction.atomic():
        with pytest.raises(Rollback), transaction.atomic():
            test_failed.send(sender=None, actor=users["usuario"], details={})
            raise Rollback
        assert events("teste_falhou") == []  # the outer block is still open: not yet
        raise Rollback
    assert len(events("teste_falhou")) == 1


def test_a_failure_inside_a_transaction_that_commits_is_written_once(users):
    with transaction.atomic():
        test_failed.send(sender=None, actor=users["usuario"], details={})
    assert len(events("teste_falhou")) == 1
    deferred.flush()
    assert len(events("teste_falhou")) == 1


def test_a_deferred_write_that_fails_is_logged_and_the_others_still_run(caplog):
    def broken() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="django_convites"), pytest.raises(Rollback), transaction.atomic():
        deferred.run_despite_rollback(broken)
        deferred.run_despite_rollback(lambda: AuditEvent.objects.create(event="depois"))
        raise Rollback
    assert len(events("depois")) == 1
    assert "could not write failure bookkeeping" in caplog.text


def test_a_write_deferred_by_a_deferred_write_runs_too():
    def outer() -> None:
        with transaction.atomic():  # defers the inner one again, until this block ends
            deferred.run_despite_rollback(lambda: AuditEvent.objects.create(event="dentro"))
        AuditEvent.objects.create(event="fora")

    with pytest.raises(Rollback), transaction.atomic():
        deferred.run_despite_rollback(outer)
        raise Rollback
    assert sorted(event.event for event in AuditEvent.objects.all()) == ["dentro", "fora"]


@pytest.mark.django_db(transaction=False)
def test_inside_a_test_transaction_the_write_lands_when_the_callers_block_is_left(users):
    with pytest.raises(Rollback), transaction.atomic():
        test_failed.send(sender=None, actor=users["usuario"], details={})
        raise Rollback
    assert len(events("teste_falhou")) == 1
