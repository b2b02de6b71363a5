"""Single use and the daily quota under real concurrency: 24 threads, each with its own connection to
PostgreSQL (or MySQL/MariaDB); skipped on SQLite, which serializes every write."""

from __future__ import annotations

from collections import Counter

import pytest

from django_convites.models import AuditEvent, Invite, InviteQuota
from django_convites.services import invites
from tests.factories import issue, make_user
from tests.parallel import THREADS, race

pytestmark = pytest.mark.parallel_db


def test_of_many_concurrent_uses_exactly_one_wins():
    issuer = make_user("emissor", role="admin")
    takers = [make_user(f"u{index}") for index in range(THREADS)]
    issued = issue(issuer)
    outcomes = race(lambda index: invites.use_invite(issued.code, user=takers[index]))
    assert outcomes == Counter({"ok": 1, "invite_used": THREADS - 1})
    invite = Invite.objects.get()
    assert invite.used_by in takers
    assert AuditEvent.objects.filter(event="convite_usado").count() == 1
    assert AuditEvent.objects.filter(event="convite_uso_falhou").count() == THREADS - 1


def test_concurrent_uses_by_id_and_code_still_give_one_winner():
    issuer = make_user("emissor", role="admin")
    takers = [make_user(f"u{index}") for index in range(THREADS)]
    issued = issue(issuer)
    refs = [issued.code, str(issued.invite.pk)]
    outcomes = race(lambda i: invites.use_invite(refs[i % 2], code=issued.code, user=takers[i]))
    assert outcomes == Counter({"ok": 1, "invite_used": THREADS - 1})


def test_a_concurrent_use_and_revoke_leave_one_consistent_state():
    issuer = make_user("emissor", role="admin")
    taker = make_user("taker")
    for _ in range(5):
        issued = issue(issuer)

        def work(index: int, issued: invites.IssuedInvite = issued) -> None:
            if index % 2:
                invites.use_invite(issued.code, user=taker)
            else:
                invites.revoke_invite(str(issued.invite.pk), actor=issuer)

        outcomes = race(work, threads=20)
        assert outcomes["ok"] == 1, outcomes
        invite = Invite.objects.get(pk=issued.invite.pk)
        assert (invite.used_at is None) != (invite.revoked_at is None)


def test_the_daily_quota_never_gives_a_sixth_invite():
    gestor = make_user("gestor", role="gestor")
    outcomes = race(lambda index: issue(gestor))
    assert outcomes == Counter({"ok": 5, "invite_quota_exceeded": THREADS - 5})
    assert Invite.objects.filter(issued_by=gestor).count() == 5
    assert InviteQuota.objects.get(issuer=gestor).count == 5
    assert AuditEvent.objects.filter(event="convite_gerado").count() == 5


def test_the_quota_holds_when_part_of_it_is_used_already():
    gestor = make_user("gestor", role="gestor")
    for _ in range(4):
        issue(gestor)
    outcomes = race(lambda index: issue(gestor))
    assert outcomes == Counter({"ok": 1, "invite_quota_exceeded": THREADS - 1})
    assert Invite.objects.filter(issued_by=gestor).count() == 5


def test_concurrent_issuers_each_get_their_own_quota():
    gestores = [make_user(f"g{index}", role="gestor") for index in range(4)]
    outcomes = race(lambda index: issue(gestores[index % 4]))
    assert outcomes == Counter({"ok": 20, "invite_quota_exceeded": THREADS - 20})
    assert [Invite.objects.filter(issued_by=g).count() for g in gestores] == [5, 5, 5, 5]
