"""The invariants of the load run (``benchmarks/load/invariants.py``): they hold for what the services write,
and each one fails on rows that break it. Needs neither locust nor gunicorn."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from benchmarks.load import invariants
from django_convites import tokens
from django_convites.models import AuditEvent, AuthCode, Invite, RefreshToken, SessionFamily
from django_convites.services import invites, sessions
from tests.factories import issue, jwt_login, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    """What the load does, through the services: invites issued and used, logins and refreshes."""
    issuer = make_user(role="gestor")
    member = make_user()
    issued = [issue(issuer, "convidado") for _ in range(3)]
    used = invites.use_invite(issued[0].code, user=member)
    pair = jwt_login(member)
    pair = sessions.refresh(pair.refresh)
    pair = sessions.refresh(pair.refresh)
    return {"issuer": issuer, "member": member, "issued": issued, "used": used, "pair": pair}


def failed(finding: invariants.Finding) -> str:
    assert not finding.ok, finding
    return finding.detail


def test_every_check_holds_for_what_the_services_write(world: dict[str, Any]) -> None:
    client = {"used_invites": {str(world["used"].pk): 1}, "accepted_totp": []}
    findings = invariants.check_all(client)
    assert [f for f in findings if not f.ok] == []
    assert len(findings) == 9
    assert "1 used invites, 1 convite_usado" in findings[0].detail
    assert "2 rotations, 2 events" in findings[5].detail


def event(name: str, target_type: str, target_id: Any) -> None:
    AuditEvent.objects.create(event=name, target_type=target_type, target_id=str(target_id))


def test_an_invite_used_twice_fails(world: dict[str, Any]) -> None:
    event("convite_usado", "convite", world["used"].pk)
    assert "with several convite_usado" in failed(invariants.invites_used_once())


def test_a_use_without_its_event_and_an_event_without_its_use_fail(world: dict[str, Any]) -> None:
    Invite.objects.filter(pk=world["issued"][1].invite.pk).update(used_at=timezone.now())
    event("convite_usado", "convite", world["issued"][2].invite.pk)
    detail = failed(invariants.invites_used_once())
    assert "1 used invites without convite_usado" in detail
    assert "1 convite_usado for used invites that did not change" in detail


def test_the_client_seeing_an_invite_used_twice_fails(world: dict[str, Any]) -> None:
    assert "used twice" in failed(invariants.client_uses_once({str(world["used"].pk): 2}))
    unused = str(world["issued"][1].invite.pk)
    assert "not used" in failed(invariants.client_uses_once({unused: 1}))


def test_an_invite_without_its_generation_event_fails(world: dict[str, Any]) -> None:
    issue(world["issuer"], direct=True)
    assert "without convite_gerado" in failed(invariants.invites_generated_once())


def test_an_issuer_over_the_quota_fails(world: dict[str, Any], convites_settings: Any) -> None:
    convites_settings(INVITES_PER_DAY=3)
    assert invariants.quota_held().ok
    issue(world["issuer"], direct=True)
    detail = failed(invariants.quota_held())
    assert "1 issuer-days over 3" in detail
    assert "counter 3, invites 4" in detail


def test_root_is_not_held_to_the_quota(convites_settings: Any) -> None:
    convites_settings(INVITES_PER_DAY=1)
    root = make_user(role="root")
    for _ in range(3):
        issue(root, direct=True)
    assert invariants.quota_held().ok


def test_a_family_with_two_live_heads_fails(world: dict[str, Any]) -> None:
    family = world["pair"].family
    now = timezone.now()
    RefreshToken.objects.create(
        family=family, digest=tokens.digest(tokens.generate(tokens.Kind.REFRESH)), expires_at=now + timedelta(days=1)
    )
    detail = failed(invariants.one_live_refresh_per_family())
    assert "1 families with several unspent refresh tokens" in detail


def test_a_token_replaced_twice_fails(world: dict[str, Any]) -> None:
    spent = RefreshToken.objects.filter(family=world["pair"].family, used_at__isnull=False).first()
    assert spent is not None
    RefreshToken.objects.create(
        family=spent.family,
        parent=spent,
        digest=tokens.digest(tokens.generate(tokens.Kind.REFRESH)),
        expires_at=timezone.now() + timedelta(days=1),
        used_at=timezone.now(),
    )
    assert "replaced more than once" in failed(invariants.one_live_refresh_per_family())
    assert "1 families disagree" in failed(invariants.one_event_per_rotation())


def test_a_rotation_event_without_a_rotation_fails(world: dict[str, Any]) -> None:
    event("token_renovado", "sessao", world["pair"].family.pk)
    assert "3 events" in failed(invariants.one_event_per_rotation())


def test_a_session_without_its_login_event_fails(world: dict[str, Any]) -> None:
    SessionFamily.objects.create(user=world["member"])
    assert "1 sessions without login" in failed(invariants.one_login_per_family())


def test_a_totp_step_accepted_twice_fails(world: dict[str, Any]) -> None:
    username = world["member"].username
    SessionFamily.objects.create(user=world["member"], two_factor=True)
    event("login", "sessao", SessionFamily.objects.get(two_factor=True).pk)
    assert invariants.totp_steps_once([(username, 7)]).ok
    assert "accepted twice" in failed(invariants.totp_steps_once([(username, 7), (username, 7)]))
    assert "1 sessions, 2 accepted" in failed(invariants.totp_steps_once([(username, 7), (username, 8)]))


def test_an_auth_code_spent_without_its_event_fails(world: dict[str, Any]) -> None:
    now = timezone.now()
    AuthCode.objects.create(
        user=world["member"], digest="0" * 64, purpose="login", expires_at=now + timedelta(minutes=5), used_at=now
    )
    assert "1 spent codes without codigo_validado" in failed(invariants.auth_codes_spent_once())
