from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_convites import tokens
from django_convites._db.deferred import flush, run_despite_rollback
from django_convites.audit import SecretInAuditError, Target, build_event, events_for
from django_convites.models import AppendOnlyError, AuditEvent
from django_convites.net import RequestMeta
from django_convites.signals import REGISTRY, DomainSignal
from tests.urls import test_done, test_failed

META = RequestMeta(ip="198.51.100.7", user_agent="pytest")


@pytest.mark.django_db
def test_a_domain_signal_writes_one_event_with_everything(users):
    test_done.send(sender=None, actor=users["gestor"], target=Target("convite", "42"), meta=META, details={"n": 1})
    (event,) = AuditEvent.objects.all()
    assert event.event == "teste_feito"
    assert event.actor == users["gestor"]
    assert (event.target_type, event.target_id) == ("convite", "42")
    assert (event.ip, event.user_agent) == ("198.51.100.7", "pytest")
    assert event.details == {"n": 1}
    assert event.created_at <= timezone.now()
    assert list(events_for(Target("convite", 42))) == [event]


@pytest.mark.django_db
def test_anonymous_actor_and_no_meta_are_recorded_as_empty():
    from django.contrib.auth.models import AnonymousUser

    test_done.send(sender=None, actor=AnonymousUser())
    (event,) = AuditEvent.objects.all()
    assert event.actor is None
    assert event.ip is None
    assert event.user_agent == ""
    assert event.target_type == ""


@pytest.mark.django_db
def test_a_model_instance_target_is_recorded_by_type_and_pk(users):
    test_done.send(sender=None, actor=None, target=users["admin"])
    (event,) = AuditEvent.objects.all()
    assert (event.target_type, event.target_id) == ("user", str(users["admin"].pk))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "details",
    [
        {"codigo": "x"},
        {"Password": "x"},
        {"nested": {"token": "x"}},
        {"lista": [{"segredo": 1}]},
    ],
)
def test_secret_keys_are_refused_and_nothing_is_written(details):
    with pytest.raises(SecretInAuditError):
        test_done.send(sender=None, details=details)
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_token_shaped_strings_are_redacted_not_refused():
    invite, api_token = tokens.generate(tokens.Kind.INVITE), tokens.generate(tokens.Kind.API_TOKEN)
    test_done.send(sender=None, details={"nota": f"leaked {invite}", "itens": [api_token, 3], "n": {"x": invite}})
    (row,) = AuditEvent.objects.all()
    assert row.details == {
        "nota": "leaked cvi_[redacted]",
        "itens": ["cvp_[redacted]", 3],
        "n": {"x": "cvi_[redacted]"},
    }


def test_a_display_prefix_is_not_mistaken_for_a_secret():
    event = build_event("x", details={"prefixo": tokens.display_prefix(tokens.generate(tokens.Kind.API_TOKEN))})
    assert event.details["prefixo"].startswith("cvp_")


def test_signal_names_are_unique():
    assert REGISTRY["teste_falhou"] is test_failed
    with pytest.raises(ValueError, match="already exists"):
        DomainSignal("teste_feito")


@pytest.mark.django_db
def test_events_are_append_only():
    test_done.send(sender=None)
    event = AuditEvent.objects.get()
    event.event = "outro"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(event="outro")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().event == "teste_feito"


@pytest.mark.django_db
def test_purge_deletes_old_events_in_batches():
    old = timezone.now() - timedelta(days=100)
    for _ in range(5):
        AuditEvent.objects.create(event="velho", created_at=old)
    AuditEvent.objects.create(event="novo")
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        assert AuditEvent.objects.purge_before(timezone.now() - timedelta(days=30), batch_size=2) == 5
    deletes = [q for q in queries.captured_queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == 3
    assert list(AuditEvent.objects.values_list("event", flat=True)) == ["novo"]


@pytest.mark.django_db
def test_purge_command(capsys):
    AuditEvent.objects.create(event="velho", created_at=timezone.now() - timedelta(days=40))
    AuditEvent.objects.create(event="novo")
    call_command("convites_purge_audit", "--days", "30")
    assert "Deleted 1 audit events" in capsys.readouterr().out
    assert AuditEvent.objects.count() == 1
    with pytest.raises(SystemExit):
        call_command("convites_purge_audit", "--days", "0")


# -- failure bookkeeping survives rollbacks; success events do not outlive them ----------------------


@pytest.mark.django_db(transaction=True)
def test_run_despite_rollback_runs_now_outside_a_transaction():
    run_despite_rollback(lambda: AuditEvent.objects.create(event="agora"))
    assert AuditEvent.objects.filter(event="agora").exists()


@pytest.mark.django_db(transaction=True)
def test_run_despite_rollback_runs_on_commit():
    with transaction.atomic():
        run_despite_rollback(lambda: AuditEvent.objects.create(event="commit"))
        assert not AuditEvent.objects.filter(event="commit").exists()
    assert AuditEvent.objects.filter(event="commit").count() == 1
    flush()
    assert AuditEvent.objects.filter(event="commit").count() == 1


@pytest.mark.django_db(transaction=True)
def test_run_despite_rollback_runs_after_a_rollback_once_the_block_is_left():
    with pytest.raises(RuntimeError), transaction.atomic():
        run_despite_rollback(lambda: AuditEvent.objects.create(event="rollback"))
        with transaction.atomic():
            flush()  # still inside the block that holds it: waits
        assert not AuditEvent.objects.filter(event="rollback").exists()
        raise RuntimeError
    # Written when the rolled-back block was left, with nobody calling flush().
    assert AuditEvent.objects.filter(event="rollback").count() == 1
    flush()
    assert AuditEvent.objects.filter(event="rollback").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("url", "status"), [("/api/t/fail/", 403), ("/api/t/host-fail/", 401)])
def test_failure_events_survive_the_failure_response(client, url, status, atomic_requests):
    response = client.post(url, REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="ua")
    assert response.status_code == status
    (event,) = AuditEvent.objects.all()
    assert (event.event, event.ip, event.user_agent) == ("teste_falhou", "198.51.100.7", "ua")


@pytest.mark.django_db(transaction=True)
def test_a_success_event_rolls_back_with_an_atomic_request_that_fails(client, atomic_requests):
    response = client.post("/api/t/done-then-fail/")
    assert response.status_code == 400
    # Under ATOMIC_REQUESTS the host view's transaction is rolled back, and the event with it;
    # without it the host view committed as it went.
    assert AuditEvent.objects.filter(event="teste_feito").exists() is not atomic_requests


@pytest.mark.django_db
def test_failure_events_survive_inside_the_test_transaction_too(client):
    client.post("/api/t/host-fail/")
    assert AuditEvent.objects.filter(event="teste_falhou").count() == 1


@pytest.mark.django_db
def test_admin_shows_events_read_only(client, users):
    test_done.send(sender=None, actor=users["gestor"], meta=META, details={"n": 1})
    event = AuditEvent.objects.get()
    users["root"].is_staff = True
    users["root"].save()
    client.force_login(users["root"])
    changelist = client.get("/admin/django_convites/auditevent/")
    assert changelist.status_code == 200
    assert b"teste_feito" in changelist.content
    change = client.get(f"/admin/django_convites/auditevent/{event.pk}/change/")
    assert change.status_code == 200
    assert b'name="event"' not in change.content  # read-only: no input
    assert client.get("/admin/django_convites/auditevent/add/").status_code == 403
    assert client.post(f"/admin/django_convites/auditevent/{event.pk}/delete/").status_code == 403
    assert AuditEvent.objects.exclude(event="login").count() == 1  # force_login writes a "login"
