"""Sign-up with an invite: ``POST /api/tokens/<ref>/registrar/`` and
:func:`~django_convites.services.signup.sign_up_with_invite` (docs/invites.rst, "Inviting someone new")."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from django_convites import signals, tokens
from django_convites.exceptions import NotAllowed, SignUpFailed
from django_convites.forms import InviteSignUpForm
from django_convites.models import AuditEvent, Invite, SessionFamily
from django_convites.services import invites, signup
from tests.factories import api_as, bearer, events, expire, issue, make_user
from tests.invites import assert_nothing_written, error_of, new_users
from tests.parallel import api_error, race
from tests.schema import api_schema

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]

PASSWORD = "uma senha longa e boa 42"
STRONG_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]


def url(ref: Any) -> str:
    return f"/api/tokens/{ref}/registrar/"


def body(username: str = "ana", email: str = "ana@example.com", password: str = PASSWORD, **extra: Any) -> dict:
    return {"username": username, "email": email, "password": password, **extra}


def post(ref: Any, data: Any, client: APIClient | None = None) -> Any:
    return (client or APIClient()).post(url(ref), data, format="json")


@pytest.fixture
def issued(users: dict[str, Any]) -> invites.IssuedInvite:
    return issue(users["admin"])


# -- success ----------------------------------------------------------------------------------------------


def test_a_sign_up_creates_the_user_spends_the_invite_and_opens_a_session(issued):
    response = post(issued.code, body())
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    answer = response.json()
    assert set(answer) == {"usuario", "access", "refresh", "access_expira_em", "refresh_expira_em", "sessao_expira_em"}
    user = get_user_model()._default_manager.get(username="ana")
    assert answer["usuario"] == user.pk
    assert user.email == "ana@example.com" and user.check_password(PASSWORD) and user.is_active
    invite = Invite.objects.get(pk=issued.invite.pk)
    assert invite.used_by == user and invite.used_at is not None
    (family,) = SessionFamily.objects.all()
    assert family.user == user
    # The access token works on an authenticated endpoint, and the refresh token refreshes.
    sessions_page = bearer(answer["access"]).get("/api/auth/sessoes/")
    assert sessions_page.status_code == 200
    assert [row["id"] for row in sessions_page.json()["results"]] == [str(family.pk)]
    refreshed = APIClient().post("/api/auth/token/refresh/", {"refresh": answer["refresh"]}, format="json")
    assert refreshed.status_code == 200
    # The app's own vocabulary: one use and one login, both by the new user.
    (used,) = events("convite_usado")
    (login,) = events("login")
    assert used.actor_id == login.actor_id == user.pk
    assert reverse("convites_api:invite-signup", kwargs={"ref": "x"}) == url("x")


def test_by_id_with_the_code_in_the_body(issued):
    response = post(issued.invite.pk, body(codigo=issued.code))
    assert response.status_code == 201, response.content
    assert Invite.objects.get(pk=issued.invite.pk).used_by.username == "ana"


def test_a_credential_on_the_request_is_not_read(issued, users):
    """A logged-in client signs up a new account; the invite is spent for the new user, not the caller."""
    response = post(issued.code, body(), client=api_as(users["gestor"]))
    assert response.status_code == 201, response.content
    assert Invite.objects.get().used_by.username == "ana"
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer cvp_not_a_token")
    assert post(issue(users["admin"]).code, body("bia", "bia@example.com"), client=garbage).status_code == 201


def test_the_service_returns_the_user_the_invite_and_the_pair(issued):
    made = signup.sign_up_with_invite(issued.code, data=body())
    assert made.user.username == "ana"
    assert made.invite.pk == issued.invite.pk and made.invite.used_by == made.user
    assert made.pair.family.user == made.user
    assert "refresh" not in repr(made.pair) or made.pair.refresh not in repr(made)


# -- the invite's refusals --------------------------------------------------------------------------------


def test_a_malformed_code_is_400_and_writes_nothing(issued):
    error_of(post("cvi_nope", body()), 400, "invalid_code_format")
    assert_nothing_written(issued.invite)


def test_by_id_without_a_code_is_400_as_for_use(issued):
    error_of(post(issued.invite.pk, body()), 400, "invalid_code_format")
    assert_nothing_written(issued.invite)


def test_by_id_with_another_invites_code_is_404(issued, users):
    other = issue(users["admin"])
    error_of(post(issued.invite.pk, body(codigo=other.code)), 404, "invite_not_found")
    assert_nothing_written(issued.invite)
    assert_nothing_written(other.invite)


def test_an_unknown_code_or_id_is_404(issued):
    error_of(post(tokens.generate(tokens.Kind.INVITE), body()), 404, "invite_not_found")
    error_of(post("8d6f7e2c-0000-4000-8000-000000000000", body(codigo=issued.code)), 404, "invite_not_found")
    error_of(post("not-an-id", body(codigo=issued.code)), 404, "invite_not_found")
    assert_nothing_written(issued.invite)


def test_a_used_invite_is_409_and_makes_no_account(issued, users):
    invites.use_invite(issued.code, user=users["usuario"])
    error_of(post(issued.code, body()), 409, "invite_used")
    assert not new_users().exists()
    assert Invite.objects.get().used_by == users["usuario"]


def test_an_expired_invite_is_410(issued):
    expire(issued.invite)
    error_of(post(issued.code, body()), 410, "invite_expired")
    assert_nothing_written(issued.invite)


def test_a_revoked_invite_is_410(issued, users):
    invites.revoke_invite(issued.code, actor=users["admin"])
    error_of(post(issued.code, body()), 410, "invite_revoked")
    assert_nothing_written(issued.invite)


def test_a_refused_sign_up_is_audited_as_a_failed_use(issued):
    expire(issued.invite)
    post(issued.code, body())
    (failed,) = events("convite_uso_falhou")
    assert failed.details == {"motivo": "invite_expired"}
    assert failed.target_id == str(issued.invite.pk)


# -- the form's refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "ana", "password": PASSWORD}, "email"),
        ({"username": "ana", "email": "ana@example.com"}, "password"),
        ({"email": "ana@example.com", "password": PASSWORD}, "username"),
        (body(email="not an address"), "email"),
        (body(username="ana bela!"), "username"),
        (body(username=12345), "username"),
        (body(password=["a", "list"]), "password"),
        (body(email={"an": "object"}), "email"),
        (body(username="a" * 151), "username"),
        (body(username="nul\x00l"), "username"),
        (body(apelido="extra"), "apelido"),
        (body(username="usuario"), "username"),  # taken
    ],
)
def test_a_bad_field_is_400_with_the_field_map_and_writes_nothing(issued, users, data, field):
    response = post(issued.code, data)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["code"] == "invalid" and isinstance(answer["detail"], str)
    assert isinstance(answer[field], list) and all(isinstance(message, str) for message in answer[field])
    assert_nothing_written(issued.invite)


def test_a_body_that_is_no_object_is_400(issued):
    assert APIClient().post(url(issued.code), [1, 2], format="json").status_code == 400
    assert APIClient().post(url(issued.code), "{nope", content_type="application/json").status_code == 400
    assert_nothing_written(issued.invite)


@override_settings(AUTH_PASSWORD_VALIDATORS=STRONG_VALIDATORS)
def test_the_sites_password_validators_refuse_a_weak_password(issued):
    response = post(issued.code, body(password="12345"))
    error_of(response, 400, "invalid")
    assert len(response.json()["password"]) >= 2  # too short, entirely numeric, too common
    assert_nothing_written(issued.invite)
    assert post(issued.code, body()).status_code == 201


@override_settings(
    AUTH_PASSWORD_VALIDATORS=[
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    ]
)
def test_the_password_is_checked_against_the_unsaved_user(issued):
    response = post(issued.code, body(username="joaquim.silva", password="joaquim.silva"))
    error_of(response, 400, "invalid")
    assert "password" in response.json()
    assert_nothing_written(issued.invite)


# -- bound invites ----------------------------------------------------------------------------------------


def bound(issuer: Any, email: str) -> invites.IssuedInvite:
    """An invite bound to ``email``, the address written on the row (as the service stores it)."""
    issued = issue(issuer)
    Invite.objects.filter(pk=issued.invite.pk).update(email=email)
    return issued


def test_a_bound_invite_takes_its_address_in_any_case(users):
    issued = bound(users["admin"], "Ana.Souza@example.com")
    response = post(issued.code, body(email="ana.souza@EXAMPLE.COM"))
    assert response.status_code == 201, response.content
    assert Invite.objects.get().used_by.username == "ana"


def test_a_bound_invite_refuses_another_address(users):
    issued = bound(users["admin"], "ana@example.com")
    error_of(post(issued.code, body(email="intruso@example.com")), 400, "invite_email_mismatch")
    assert_nothing_written(issued.invite)
    (failed,) = events("convite_uso_falhou")
    assert failed.details == {"motivo": "invite_email_mismatch"}
    assert "intruso" not in str(failed.details) and "ana@" not in str(failed.details)


def test_a_bound_invite_set_on_the_row_is_honoured(issued):
    Invite.objects.filter(pk=issued.invite.pk).update(email="Bia@example.com")
    error_of(post(issued.code, body()), 400, "invite_email_mismatch")
    assert post(issued.code, body(email="BIA@example.com")).status_code == 201


# -- one transaction --------------------------------------------------------------------------------------


class HostError(RuntimeError):
    pass


def test_a_host_receiver_that_raises_leaves_no_user_and_a_new_invite(issued):
    def attach(sender: Any, invite: Invite, user: Any, **kwargs: Any) -> None:
        assert get_user_model()._default_manager.filter(pk=user.pk).exists()  # the user exists in there
        raise HostError("the host could not attach the member")

    signals.invite_used.connect(attach, weak=False)
    try:
        with pytest.raises(SignUpFailed):
            signup.sign_up_with_invite(issued.code, data=body())
    finally:
        signals.invite_used.disconnect(attach)
    assert_nothing_written(issued.invite)
    assert Invite.objects.get().state().value == "novo"


def test_a_database_that_fails_during_the_sign_up_is_not_blamed_on_the_host(issued, caplog):
    # PostgreSQL's words when an administrator (or a failover) ends the connection mid-request.
    def connection_lost(sender: Any, **kwargs: Any) -> None:
        raise OperationalError("terminating connection due to administrator command")

    signals.invite_used.connect(connection_lost, weak=False)
    try:
        with pytest.raises(OperationalError):
            signup.sign_up_with_invite(issued.code, data=body())
    finally:
        signals.invite_used.disconnect(connection_lost)
    assert_nothing_written(issued.invite)
    assert "sign-up with an invite failed" not in caplog.text


def test_over_the_api_a_host_receiver_that_raises_is_503_and_logs_no_code(issued, caplog):
    def attach(sender: Any, **kwargs: Any) -> None:
        raise HostError("the host could not attach the member")

    signals.invite_used.connect(attach, weak=False)
    try:
        with caplog.at_level(logging.INFO):
            response = post(issued.code, body())
    finally:
        signals.invite_used.disconnect(attach)
    error_of(response, 503, "signup_failed")
    assert_nothing_written(issued.invite)
    assert any(record.exc_info and record.exc_info[0] is HostError for record in caplog.records)
    secret = issued.code[4:]
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert getattr(record, "request", None) is None or secret not in record.request.get_full_path()


def test_a_host_receiver_refusing_is_answered_and_rolls_back(issued):
    def refuse(sender: Any, **kwargs: Any) -> None:
        raise NotAllowed()

    signals.invite_used.connect(refuse, weak=False)
    try:
        error_of(post(issued.code, body()), 403, "permission_denied")
    finally:
        signals.invite_used.disconnect(refuse)
    assert_nothing_written(issued.invite)


def test_a_host_receiver_sees_the_new_user_and_its_work_commits(issued, users):
    from django.contrib.auth.models import Group

    def attach(sender: Any, invite: Invite, user: Any, **kwargs: Any) -> None:
        user.groups.add(Group.objects.get_or_create(name="membros")[0])

    signals.invite_used.connect(attach, weak=False)
    try:
        assert post(issued.code, body()).status_code == 201
    finally:
        signals.invite_used.disconnect(attach)
    assert [group.name for group in get_user_model()._default_manager.get(username="ana").groups.all()] == ["membros"]


# -- throttling -------------------------------------------------------------------------------------------


def test_sign_ups_are_throttled_per_client_ip_on_the_validation_budget(users, convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="3/minute")
    client = APIClient()
    for _ in range(2):
        client.post("/api/tokens/validate/", {"codigo": "cvi_nope"}, format="json")
    issued = issue(users["admin"])
    assert post(issued.code, body(), client=client).status_code == 201
    refused = post(issue(users["admin"]).code, body("bia", "bia@example.com"), client=client)
    error_of(refused, 429, "throttled")
    assert int(refused["Retry-After"]) >= 1
    other_ip = APIClient(REMOTE_ADDR="10.9.8.7")
    assert post(issue(users["admin"]).code, body("bia", "bia@example.com"), client=other_ip).status_code == 201


# -- secrets ----------------------------------------------------------------------------------------------


def test_no_code_or_password_reaches_the_audit_log_or_the_logs(users, caplog):
    caplog.set_level(logging.DEBUG)
    issued = issue(users["admin"])
    bound_one = bound(users["admin"], "ana@example.com")
    post(issued.invite.pk, body(codigo=issued.code))
    post(bound_one.code, body("bia", "bia@example.com"))  # refused: another address
    post(issued.code, body("caio", "caio@example.com"))  # refused: used
    post(issued.code, body("dora", "dora@example.com", password="curta"))
    rows = " ".join(f"{row.event} {row.details} {row.ip} {row.user_agent}" for row in AuditEvent.objects.all())
    logged = " ".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    for secret in (issued.code, bound_one.code, PASSWORD, "curta"):
        assert secret not in rows
        assert secret not in logged
    assert "convite_usado" in rows and "convite_uso_falhou" in rows


# -- the schema -------------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_the_endpoint():
    schema = api_schema()
    operation = schema["paths"]["/tokens/{ref}/registrar/"]["post"]
    assert operation["operationId"] == "convites_registrar"
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]
    components = schema["components"]["schemas"]
    request_fields = components[request["$ref"].rsplit("/", 1)[1]]["properties"]
    answer_fields = components[answer["$ref"].rsplit("/", 1)[1]]["properties"]
    assert {"codigo", "username", "email", "password"} <= set(request_fields)
    assert {"usuario", "access", "refresh", "access_expira_em", "refresh_expira_em"} <= set(answer_fields)
    assert "password" not in answer_fields


# -- concurrency (PostgreSQL and MySQL) ---------------------------------------------------------------------

SIGNUPS = 30


def _sign_up(ref: str, index: int, **extra: Any) -> None:
    response = post(ref, body(f"novo{index}", f"novo{index}@example.com", **extra))
    if response.status_code != 201:
        raise api_error(response)


@pytest.mark.parallel_db
def test_of_30_parallel_sign_ups_with_one_code_exactly_one_makes_an_account(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None)
    issued = issue(make_user("emissor", role="admin"))
    outcomes = race(lambda index: _sign_up(issued.code, index), threads=SIGNUPS)
    assert outcomes == Counter({"ok": 1, "invite_used": SIGNUPS - 1})
    (user,) = get_user_model()._default_manager.filter(username__startswith="novo")
    assert Invite.objects.get().used_by == user
    assert SessionFamily.objects.filter(user=user).count() == SessionFamily.objects.count() == 1
    assert AuditEvent.objects.filter(event="convite_usado").count() == 1


@pytest.mark.parallel_db
def test_30_parallel_uses_and_sign_ups_have_one_winner(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None)
    issued = issue(make_user("emissor", role="admin"))
    members = [make_user(f"membro{index}") for index in range(SIGNUPS)]
    clients = [api_as(member) for member in members]
    ref = str(issued.invite.pk)

    def work(index: int) -> None:
        if index % 2:
            response = clients[index].post(f"/api/tokens/{issued.code}/use/", {}, format="json")
            if response.status_code != 200:
                raise api_error(response)
        else:
            _sign_up(ref, index, codigo=issued.code)

    outcomes = race(work, threads=SIGNUPS)
    assert outcomes == Counter({"ok": 1, "invite_used": SIGNUPS - 1})
    invite = Invite.objects.get()
    created = list(get_user_model()._default_manager.filter(username__startswith="novo"))
    assert len(created) <= 1
    assert invite.used_by in [*members, *created]
    assert (len(created) == 1) is (invite.used_by in created)
    assert AuditEvent.objects.filter(event="convite_usado").count() == 1


def test_a_sign_up_withdraws_an_invite_its_issuer_can_no_longer_grant_and_the_withdrawal_stands(users):
    # The issuer lost the right without the receiver that would revoke the invite: the sign-up withdraws it
    # before it makes an account, so the withdrawal commits though the sign-up is refused.
    issued = issue(users["gestor"])
    get_user_model()._default_manager.filter(pk=users["gestor"].pk).update(is_active=False)
    error_of(post(issued.code, body()), 410, "invite_revoked")
    assert not new_users().exists()
    issued.invite.refresh_from_db()
    assert issued.invite.revoked_at is not None
    (revoked,) = events("convite_revogado")
    assert revoked.details == {"motivo": "emissor_inativo"}
    (failed,) = events("convite_uso_falhou")
    assert failed.details == {"motivo": "invite_revoked", "causa": "emissor_inativo"}


#: The code :class:`SpentMeanwhileForm` spends for someone else while the sign-up makes its account.
SPENT_MEANWHILE: dict[str, Any] = {}


class SpentMeanwhileForm(InviteSignUpForm):
    """The sign-up form, whose save lets another user spend the invite first: the race a sign-up loses
    after its account exists, made deterministic."""

    def save(self) -> Any:
        invites.use_invite(SPENT_MEANWHILE["code"], user=SPENT_MEANWHILE["user"])
        return super().save()


def test_a_use_refused_after_the_account_was_made_keeps_its_failure_event_without_the_rolled_back_user(
    users, caplog, convites_settings
):
    convites_settings(SIGNUP_FORM="tests.test_invite_signup.SpentMeanwhileForm")
    issued = issue(users["admin"])
    SPENT_MEANWHILE.update(code=issued.code, user=users["usuario"])
    with caplog.at_level(logging.ERROR, logger="django_convites"):
        response = post(issued.code, body())
    error_of(response, 409, "invite_used")
    assert not new_users().exists()
    issued.invite.refresh_from_db()
    assert issued.invite.used_at is None  # the other use rolled back with the account
    (failed,) = events("convite_uso_falhou")
    assert (failed.actor_id, failed.details) == (None, {"motivo": "invite_used"})
    assert not [record for record in caplog.records if "bookkeeping" in record.getMessage()]


@pytest.mark.parametrize("key", ["code", "detail"])
def test_a_body_key_named_like_the_error_keys_keeps_the_error_shape(issued, key):
    answer = error_of(post(issued.code, {**body(), key: "x"}), 400, "invalid")
    assert answer["detail"] == "Invalid input."
    assert_nothing_written(issued.invite)
