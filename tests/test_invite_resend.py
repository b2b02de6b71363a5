"""Sending an invite again: ``POST /api/tokens/<ref>/reenviar/`` and
:func:`~django_convites.services.invites.resend_invite` (docs/invites.rst, "Send again")."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from django_convites import tokens
from django_convites.exceptions import InviteNotFound
from django_convites.models import AuditEvent, Invite, InviteQuota
from django_convites.services import invites
from tests.factories import api_as, bearer, events, expire, issue, mail_server_down, make_api_token, make_org, make_user
from tests.invites import INVITE_FIELDS, URL, VALIDATE, error_of
from tests.parallel import THREADS, api_error, race
from tests.schema import api_schema

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
ADDRESS = "ana@example.com"


def url(ref: Any) -> str:
    return f"{URL}{ref}/reenviar/"


def resend(client: APIClient, ref: Any, body: Any = None) -> Any:
    if body is None:
        return client.post(url(ref))
    return client.post(url(ref), body, format="json")


def bound(issuer: Any, email: str = ADDRESS, **extra: Any) -> invites.IssuedInvite:
    """An invite of ``issuer`` bound to ``email``, made by the service (which mails it); the outbox is
    emptied after, so a test sees only what the resend sends."""
    issued = issue(issuer, email=email, link_base="http://testserver", **extra)
    mail.outbox.clear()
    return issued


def mailed_code(message: Any) -> str:
    """The code in the accept link of a mail of the default sender."""
    found = re.search(r"https?://\S+/tokens/convites/aceitar/(\S+)/", message.body)
    assert found, message.body
    return found.group(1)


def validates(code: str) -> bool:
    response = APIClient().post(VALIDATE, {"codigo": code}, format="json")
    assert response.status_code in (200, 404, 410), response.content
    return response.status_code == 200


def resend_events() -> list[AuditEvent]:
    return [event for event in events("convite_enviado") if event.details.get("reenvio")]


def assert_unchanged(issued: invites.IssuedInvite) -> None:
    """A refused resend changed nothing: the old code still names the invite, nothing was mailed or sent."""
    row = Invite.objects.get(pk=issued.invite.pk)
    assert row.code_digest == tokens.digest(issued.code)
    assert mail.outbox == []
    assert resend_events() == []


# -- success ----------------------------------------------------------------------------------------------


def test_the_issuer_resends_with_a_new_code_and_the_old_one_stops_working(users):
    issued = bound(users["gestor"])
    response = resend(api_as(users["gestor"]), issued.invite.pk)
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == [*INVITE_FIELDS, "canal"]
    assert body["id"] == str(issued.invite.pk) and body["email"] == ADDRESS and body["canal"] == "email"
    assert body["estado"] == "novo"
    assert "codigo" not in body
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    (message,) = mail.outbox
    assert message.to == [ADDRESS]
    new_code = mailed_code(message)
    assert new_code != issued.code and new_code not in response.content.decode()
    # The old code and its link name nothing any more; the new one names the same invite.
    assert not validates(issued.code)
    error_of(APIClient().post(VALIDATE, {"codigo": issued.code}, format="json"), 404, "invite_not_found")
    valid = APIClient().post(VALIDATE, {"codigo": new_code}, format="json")
    assert valid.status_code == 200 and valid.json()["id"] == str(issued.invite.pk)
    row = Invite.objects.get(pk=issued.invite.pk)
    assert row.code_digest == tokens.digest(new_code)
    assert row.expires_at == issued.invite.expires_at  # a resend does not lengthen the invite's life
    (event,) = resend_events()
    assert (event.actor, event.target_id) == (users["gestor"], str(issued.invite.pk))
    assert event.details == {"canal": "email", "reenvio": True, "solicitante": users["gestor"].pk}


def test_the_new_code_spends_the_same_invite_and_the_old_one_spends_nothing(users):
    users["usuario"].email = ADDRESS  # the invite is bound to this address
    users["usuario"].save()
    issued = bound(users["admin"])
    invites.resend_invite(str(issued.invite.pk), actor=users["admin"], link_base="http://testserver")
    new_code = mailed_code(mail.outbox[-1])
    with pytest.raises(InviteNotFound):
        invites.use_invite(issued.code, user=users["usuario"])
    with pytest.raises(InviteNotFound):  # the id with the replaced code is no match either
        invites.use_invite(str(issued.invite.pk), code=issued.code, user=users["usuario"])
    spent = invites.use_invite(new_code, user=users["usuario"])
    assert spent.pk == issued.invite.pk
    assert Invite.objects.get(pk=issued.invite.pk).used_by == users["usuario"]


@pytest.mark.parametrize("requester", ["root", "admin"])
def test_root_and_admin_resend_another_users_invite_in_the_issuers_name(users, requester):
    issued = bound(users["gestor"])
    response = resend(api_as(users[requester]), issued.invite.pk)
    assert response.status_code == 200, response.content
    (event,) = resend_events()
    # The mail is the issuer's invite: the event's actor is the issuer, and it says who asked.
    assert event.actor == users["gestor"]
    assert event.details["solicitante"] == users[requester].pk
    assert validates(mailed_code(mail.outbox[0]))


def test_the_ref_may_be_the_code_and_the_old_code_then_names_nothing(users):
    issued = bound(users["admin"])
    client = api_as(users["admin"])
    assert resend(client, issued.code).status_code == 200
    error_of(resend(client, issued.code), 404, "invite_not_found")
    assert len(mail.outbox) == 1
    assert resend(client, mailed_code(mail.outbox[0])).status_code == 200
    assert len(mail.outbox) == 2


def test_each_resend_mails_a_new_code_and_only_the_last_works(users):
    issued = bound(users["admin"])
    client = api_as(users["admin"])
    for _ in range(3):
        assert resend(client, issued.invite.pk).status_code == 200
    codes = [mailed_code(message) for message in mail.outbox]
    assert len(set(codes)) == 3
    assert [validates(code) for code in [issued.code, *codes]] == [False, False, False, True]
    assert len(resend_events()) == 3


def test_a_gestor_at_the_daily_quota_still_resends_and_spends_none_of_it(users):
    gestor = users["gestor"]
    first = bound(gestor)
    for _ in range(4):
        issue(gestor)
    error_of(api_as(gestor).post(URL, {"tipo_destino": "associado"}, format="json"), 429, "invite_quota_exceeded")
    count = InviteQuota.objects.get(issuer=gestor).count
    response = resend(api_as(gestor), first.invite.pk)
    assert response.status_code == 200, response.content
    assert "X-Convites-Restantes" not in response
    assert InviteQuota.objects.get(issuer=gestor).count == count == 5
    assert Invite.objects.filter(issued_by=gestor).count() == 5
    assert len(events("convite_cota_excedida")) == 1  # the refused sixth invite, not the resend


def other_channel(invite: Invite, code: str, link: str) -> str:
    return "whatsapp"


def test_the_sender_names_the_channel_of_the_resend(users, convites_settings):
    issued = bound(users["admin"])
    convites_settings(INVITE_SENDER="tests.test_invite_resend.other_channel")
    response = resend(api_as(users["admin"]), issued.invite.pk)
    assert response.json()["canal"] == "whatsapp"
    assert resend_events()[0].details["canal"] == "whatsapp"


def test_the_link_starts_with_the_configured_base_url(users, convites_settings):
    issued = bound(users["admin"])
    convites_settings(INVITE_LINK_BASE_URL="https://convites.example.org")
    assert resend(api_as(users["admin"]), issued.invite.pk).status_code == 200
    assert "https://convites.example.org/tokens/convites/aceitar/cvi_" in mail.outbox[0].body


# -- who may ----------------------------------------------------------------------------------------------


def assert_refused(response: Any, issued: invites.IssuedInvite, code: str = "permission_denied") -> None:
    error_of(response, 403, code)
    assert_unchanged(issued)


def test_a_usuario_is_refused_before_any_lookup(users):
    issued = bound(users["admin"])
    assert_refused(resend(api_as(users["usuario"]), issued.invite.pk), issued)
    # An id that names nothing gets the same answer: a usuario learns nothing about which invites exist.
    assert_refused(resend(api_as(users["usuario"]), "6f1c0000-0000-4000-8000-000000000000"), issued)
    assert [event.details for event in events("convite_negado")] == [{"acao": "reenviar", "motivo": "role"}] * 2


def test_another_gestor_is_refused(users):
    issued = bound(users["gestor"])
    other = make_user(role="gestor")
    assert_refused(resend(api_as(other), issued.invite.pk), issued)
    (denied,) = events("convite_negado")
    assert denied.target_id == str(issued.invite.pk)
    assert denied.details == {"acao": "reenviar", "motivo": "not_owner"}


def test_an_anonymous_request_is_refused(users):
    issued = bound(users["admin"])
    response = resend(APIClient(), issued.invite.pk)
    assert response.status_code in (401, 403)
    assert_unchanged(issued)


#: username -> the organization ids they manage; read by :func:`managed_organizations`.
MANAGED: dict[str, Any] = {}


def managed_organizations(user: Any) -> Any:
    """The test's ORGANIZATION_RESOLVER."""
    return MANAGED.get(user.get_username())


@pytest.fixture
def confined(users, convites_settings):
    """Two organizations; the admin and the gestor manage the first one only."""
    org_a, _ = make_org("A", nuclei=0)
    org_b, _ = make_org("B", nuclei=0)
    MANAGED.clear()
    MANAGED.update(admin={org_a.pk}, gestor={org_a.pk})
    convites_settings(ORGANIZATION_RESOLVER="tests.test_invite_resend.managed_organizations")
    yield org_a, org_b
    MANAGED.clear()


def test_a_confined_admin_resends_inside_their_organizations_only(users, confined):
    org_a, org_b = confined
    inside = bound(users["root"], organization=org_a.pk)
    outside = bound(users["root"], organization=org_b.pk)
    admin = api_as(users["admin"])
    assert_refused(resend(admin, outside.invite.pk), outside)
    assert events("convite_negado")[0].details == {"acao": "reenviar", "motivo": "organization"}
    assert resend(admin, inside.invite.pk).status_code == 200
    # Root is never confined.
    assert resend(api_as(users["root"]), outside.invite.pk).status_code == 200


def test_api_tokens_need_the_scope_revoking_needs(users):
    gestor_invite = bound(users["gestor"])
    read = bearer(make_api_token(users["gestor"], "read", direct=True).secret)
    assert_refused(resend(read, gestor_invite.invite.pk), gestor_invite, "insufficient_scope")
    write = bearer(make_api_token(users["gestor"], "write", direct=True).secret)
    assert resend(write, gestor_invite.invite.pk).status_code == 200
    mail.outbox.clear()
    # Below the admin scope, an admin's token reaches only the admin's own invites.
    admin_write = bearer(make_api_token(users["admin"], "write", direct=True).secret)
    before = Invite.objects.get(pk=gestor_invite.invite.pk).code_digest
    error_of(resend(admin_write, gestor_invite.invite.pk), 403, "permission_denied")
    assert Invite.objects.get(pk=gestor_invite.invite.pk).code_digest == before and mail.outbox == []
    admin_scope = bearer(make_api_token(users["admin"], "admin", direct=True).secret)
    assert resend(admin_scope, gestor_invite.invite.pk).status_code == 200


# -- refusals change nothing ------------------------------------------------------------------------------


def test_a_used_invite_is_409(users):
    users["usuario"].email = ADDRESS  # the invite is bound to this address
    users["usuario"].save()
    issued = bound(users["admin"])
    invites.use_invite(issued.code, user=users["usuario"])
    error_of(resend(api_as(users["admin"]), issued.invite.pk), 409, "invite_used")
    assert_unchanged(issued)


def test_a_revoked_invite_is_409(users):
    issued = bound(users["admin"])
    invites.revoke_invite(str(issued.invite.pk), actor=users["admin"])
    error_of(resend(api_as(users["admin"]), issued.invite.pk), 409, "invite_revoked")
    assert_unchanged(issued)


def test_an_expired_invite_is_410(users):
    issued = bound(users["admin"])
    expire(issued.invite)
    error_of(resend(api_as(users["admin"]), issued.invite.pk), 410, "invite_expired")
    assert_unchanged(issued)


def test_an_invite_bound_to_no_address_is_409_invite_not_bound(users):
    issued = issue(users["admin"])
    body = error_of(resend(api_as(users["admin"]), issued.invite.pk), 409, "invite_not_bound")
    assert "e-mail" in body["detail"]
    assert_unchanged(issued)


def test_an_issuer_who_lost_the_right_to_the_invite_gets_it_withdrawn_not_mailed(users):
    issuer = make_user(role="gestor")
    issued = bound(issuer)
    # Deactivated behind the app's back (a queryset update sends no signal): the invite is still open.
    type(issuer)._default_manager.filter(pk=issuer.pk).update(is_active=False)
    error_of(resend(api_as(users["admin"]), issued.invite.pk), 409, "invite_revoked")
    row = Invite.objects.get(pk=issued.invite.pk)
    assert row.revoked_at is not None and row.code_digest == tokens.digest(issued.code)
    assert mail.outbox == [] and resend_events() == []
    (revoked,) = events("convite_revogado")
    assert revoked.details == {"motivo": "emissor_inativo"}


@mail_server_down()
def test_a_mail_server_that_is_down_is_503_and_the_old_code_still_works(users):
    # The invite is made with the row alone here: the service would refuse it with the server down.
    issued = issue(users["admin"], direct=True)
    Invite.objects.filter(pk=issued.invite.pk).update(email=ADDRESS)
    body = error_of(resend(api_as(users["admin"]), issued.invite.pk), 503, "invite_undeliverable")
    assert "not changed" in body["detail"]
    assert_unchanged(issued)
    assert validates(issued.code)


def failing_sender(invite: Invite, code: str, link: str) -> str:
    raise RuntimeError("the site's sender broke")


def test_any_error_of_the_sender_leaves_the_invite_as_it_was(users, convites_settings):
    issued = bound(users["admin"])
    convites_settings(INVITE_SENDER="tests.test_invite_resend.failing_sender")
    with pytest.raises(RuntimeError):
        invites.resend_invite(str(issued.invite.pk), actor=users["admin"], link_base="http://x")
    assert_unchanged(issued)
    assert validates(issued.code)


# -- the throttle -----------------------------------------------------------------------------------------


def test_resends_are_throttled_per_user(users, convites_settings):
    convites_settings(INVITE_RESEND_RATE="2/hour")
    issued = bound(users["admin"])
    admin = api_as(users["admin"])
    assert [resend(admin, issued.invite.pk).status_code for _ in range(2)] == [200, 200]
    refused = resend(admin, issued.invite.pk)
    error_of(refused, 429, "throttled")
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert len(mail.outbox) == 2
    # Another user has a budget of their own.
    assert resend(api_as(users["root"]), issued.invite.pk).status_code == 200


def test_the_default_rate_is_ten_an_hour(users):
    issued = bound(users["admin"])
    admin = api_as(users["admin"])
    answers = [resend(admin, issued.invite.pk).status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]


# -- hostile input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "status"),
    [
        ("nonsense", 404),
        ("123", 404),
        ("6f1c0000-0000-4000-8000-00000000000Z", 404),
        ("a" * 5000, 404),
        ("cvi_short", 400),
        ("cvi_" + "x" * 5000, 400),
        ("cvi_%00", 400),
        ("%C3%A7%E2%80%AE", 404),
        ("00000000-0000-0000-0000-000000000000", 404),
    ],
)
def test_a_hostile_ref_is_answered_never_500(users, ref, status):
    issued = bound(users["admin"])
    response = resend(api_as(users["admin"]), ref)
    assert response.status_code == status, response.content[:300]
    assert set(response.json()) == {"detail", "code"}
    assert_unchanged(issued)


@pytest.mark.parametrize("body", [{"email": "outra@example.com"}, {"codigo": "cvi_x"}, [], ["x"], 7, "texto"])
def test_a_body_with_anything_in_it_is_400(users, body):
    issued = bound(users["admin"])
    response = resend(api_as(users["admin"]), issued.invite.pk, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid", "parse_error"}
    assert_unchanged(issued)


def test_an_empty_object_is_no_body(users):
    issued = bound(users["admin"])
    assert resend(api_as(users["admin"]), issued.invite.pk, {}).status_code == 200


def test_only_post_is_allowed(users):
    issued = bound(users["admin"])
    error_of(api_as(users["admin"]).get(url(issued.invite.pk)), 405, "method_not_allowed")
    assert_unchanged(issued)


# -- secrets ----------------------------------------------------------------------------------------------


def test_no_code_or_link_reaches_the_audit_log_or_the_logs(users, caplog, convites_settings):
    caplog.set_level(logging.DEBUG)
    convites_settings(INVITE_RESEND_RATE="3/hour")
    issued = bound(users["admin"])
    admin = api_as(users["admin"])
    assert resend(admin, issued.code).status_code == 200  # the code as the ref
    first = mailed_code(mail.outbox[-1])
    assert resend(admin, issued.code).status_code == 404  # the replaced code, in the path
    assert resend(api_as(users["usuario"]), first).status_code == 403
    assert resend(admin, first).status_code == 200
    second = mailed_code(mail.outbox[-1])
    assert resend(admin, second).status_code == 429
    rows = " ".join(f"{row.event} {row.details} {row.ip} {row.user_agent}" for row in AuditEvent.objects.all())
    logged = " ".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    assert "convite_enviado" in rows and "convite_negado" in rows
    assert "Not Found" in logged or "404" in logged  # the 4xx answers were logged, redacted
    for code in (issued.code, first, second):
        secret = code[len("cvi_") :]
        assert secret not in rows
        assert secret not in logged
    assert "/aceitar/" not in rows and "/aceitar/" not in logged


# -- the schema -------------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_the_endpoint():
    schema = api_schema()
    operation = schema["paths"]["/tokens/{ref}/reenviar/"]["post"]
    assert operation["operationId"] == "convites_reenviar"
    assert "requestBody" not in operation
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    fields = schema["components"]["schemas"][answer["$ref"].rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {*INVITE_FIELDS, "canal"}


# -- concurrency (PostgreSQL and MySQL) ---------------------------------------------------------------------


@pytest.mark.parallel_db
def test_of_parallel_resends_each_mails_a_code_and_only_the_last_committed_works(convites_settings):
    convites_settings(INVITE_RESEND_RATE=None)
    admin = make_user("emissor", role="admin")
    issued = bound(admin)
    clients = [api_as(admin) for _ in range(THREADS)]

    def work(index: int) -> None:
        response = resend(clients[index], issued.invite.pk)
        if response.status_code != 200:
            raise api_error(response)

    outcomes = race(work)
    assert outcomes == {"ok": THREADS}, outcomes
    # Each resend mails while it holds the row's lock, so the outbox is in the order of the commits.
    codes = [mailed_code(message) for message in mail.outbox]
    assert len(codes) == len(set(codes)) == THREADS
    assert [code for code in [issued.code, *codes] if validates(code)] == [codes[-1]]
    assert Invite.objects.get().code_digest == tokens.digest(codes[-1])
    assert len(resend_events()) == THREADS


@pytest.mark.parallel_db
def test_a_resend_racing_a_use_never_leaves_a_spent_invite_and_a_mailed_code(convites_settings):
    convites_settings(INVITE_RESEND_RATE=None, INVITE_VALIDATION_RATE=None, INVITES_PER_DAY=None)
    admin = make_user("emissor", role="admin")
    takers = [make_user(f"u{index}", email=ADDRESS) for index in range(THREADS)]  # the bound address
    spent_rounds = resent_rounds = 0
    for _ in range(6):
        issued = bound(admin)
        clients = [api_as(admin if index % 2 == 0 else takers[index]) for index in range(THREADS)]

        def work(index: int, issued: invites.IssuedInvite = issued, clients: list[APIClient] = clients) -> None:
            if index % 2:
                response = clients[index].post(f"{URL}{issued.code}/use/", {}, format="json")
            else:
                response = resend(clients[index], issued.invite.pk)
            if response.status_code != 200:
                raise api_error(response)

        outcomes = race(work)
        assert not [outcome for outcome in outcomes if outcome.startswith("crash")], outcomes
        invite = Invite.objects.get(pk=issued.invite.pk)
        codes = [mailed_code(message) for message in mail.outbox]
        if invite.used_at is not None:
            # The use won before any resend committed: nothing was mailed, every resend saw it used.
            spent_rounds += 1
            assert codes == [], outcomes
            assert outcomes == {"ok": 1, "invite_used": THREADS - 1}, outcomes
        else:
            # A resend won: the original code spent nothing, and the last code mailed is the one that works.
            resent_rounds += 1
            assert outcomes == {"ok": THREADS // 2, "invite_not_found": THREADS // 2}, outcomes
            assert [code for code in [issued.code, *codes] if validates(code)] == [codes[-1]]
        mail.outbox.clear()
    assert spent_rounds + resent_rounds == 6
