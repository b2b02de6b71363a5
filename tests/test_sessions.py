"""Contract section 6: login, access tokens and their attacks, refresh rotation and reuse, sessions."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac as hmac_module
import json
import time
import uuid
from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from django_convites import jwt_codec, tokens
from django_convites._db import deferred
from django_convites.exceptions import TokenReused
from django_convites.models import AuditEvent, RefreshToken, SessionFamily
from django_convites.services import sessions
from tests.factories import (
    bearer,
    confirmed_totp,
    events,
    login_pair,
    post_login,
    post_refresh,
    totp_code,
)
from tests.invites import error_of

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
REVOKE = "/api/auth/token/revoke/"
SESSIONS = "/api/auth/sessoes/"
WHOAMI = "/api/t/whoami/"
#: Where every login of this module comes from (the session rows and the audit keep it).
CLIENT = {"REMOTE_ADDR": "203.0.113.30", "HTTP_USER_AGENT": "app/3"}


def claims_of(access):
    return jwt.decode(access, options={"verify_signature": False})


def forge(claims=None, *, key=None, algorithm="HS256", headers=None, **changes):
    """An access token signed like ours (or not), with ``changes`` to its claims."""
    now = int(time.time())
    payload = {
        "iss": "django-convites",
        "aud": "django-convites",
        "sub": "1",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
        "typ": "access",
        **(claims or {}),
        **changes,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key or jwt_codec.derived_secret(), algorithm=algorithm, headers=headers)


# -- login ------------------------------------------------------------------------------------------------


def test_login_returns_a_pair_and_starts_a_session(api_client, users):
    response = post_login(api_client, headers=CLIENT)
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {"access", "refresh", "access_expira_em", "refresh_expira_em", "sessao_expira_em"}
    tokens.parse(data["refresh"], tokens.Kind.REFRESH)
    claims = claims_of(data["access"])
    assert claims["sub"] == str(users["usuario"].pk) and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 300
    assert jwt.get_unverified_header(data["access"])["alg"] == "HS256"
    family = SessionFamily.objects.get()
    assert str(family.pk) == claims["sid"]
    assert (family.ip, family.user_agent, family.user) == ("203.0.113.30", "app/3", users["usuario"])
    assert RefreshToken.objects.get().digest == tokens.digest(data["refresh"])
    assert response["Cache-Control"] == "no-store"
    (event,) = events("login")
    assert event.actor == users["usuario"] and event.ip == "203.0.113.30"


@pytest.mark.parametrize(("username", "password"), [("usuario", "errada"), ("ninguem", "x")])
def test_wrong_credentials_are_401_and_audited_without_the_password(api_client, users, username, password):
    error_of(post_login(api_client, username, password, headers=CLIENT), 401, "invalid_credentials")
    (failed,) = events("login_falhou")
    assert failed.details == {"motivo": "invalid_credentials", "usuario_informado": username}
    assert password not in str(failed.details)
    assert not SessionFamily.objects.exists()


def test_an_inactive_user_cannot_log_in(api_client, users):
    users["usuario"].is_active = False
    users["usuario"].save()
    error_of(post_login(api_client, headers=CLIENT), 401, "invalid_credentials")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "usuario"},
        {"username": ["usuario"], "password": "x"},
        {"username": "u", "password": "x", "extra": 1},
    ],
)
def test_bad_login_bodies_are_400(api_client, users, body):
    response = api_client.post(LOGIN, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_login_is_throttled_per_ip(api_client, users, convites_settings):
    convites_settings(LOGIN_RATE="3/minute", LOGIN_USERNAME_RATE=None)
    for username in ("usuario", "gestor", "admin"):
        body = {"username": username, "password": "errada"}
        assert api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.1").status_code == 401
    body = {"username": "root", "password": "errada"}
    response = api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.1.1.1")
    error_of(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.2").status_code == 401


def test_login_is_throttled_per_username_from_any_address(api_client, users, convites_settings):
    convites_settings(LOGIN_RATE=None, LOGIN_USERNAME_RATE="2/minute")
    body = {"username": "usuario", "password": "errada"}
    assert api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.2").status_code == 401
    spoofed = {"username": " USUARIO ", "password": "x"}
    error_of(api_client.post(LOGIN, spoofed, format="json", REMOTE_ADDR="198.51.100.3"), 429, "throttled")
    other = {"username": "gestor", "password": "errada"}
    assert api_client.post(LOGIN, other, format="json", REMOTE_ADDR="198.51.100.3").status_code == 401


# -- two-factor at login ----------------------------------------------------------------------------------


@pytest.fixture
def device(users):
    return confirmed_totp(users["usuario"], name="app").device


def test_a_user_with_two_factor_needs_a_code(api_client, users, device):
    error_of(post_login(api_client, headers=CLIENT), 401, "otp_required")
    error_of(
        post_login(api_client, otp="000000" if totp_code(device) != "000000" else "111111", headers=CLIENT),
        401,
        "otp_invalid",
    )
    assert [e.details["motivo"] for e in events("login_falhou")] == ["otp_required", "otp_invalid"]
    assert not SessionFamily.objects.exists()


def test_a_current_code_logs_in_once(api_client, users, device):
    code = totp_code(device)
    assert post_login(api_client, otp=code, headers=CLIENT).status_code == 200
    error_of(post_login(api_client, otp=code, headers=CLIENT), 401, "otp_invalid")


@pytest.mark.parametrize("code", ["１２３４５６", "+12345", "12_345", "12345", "1234567", " 123456"])
def test_codes_are_exactly_six_ascii_digits(api_client, users, device, code):
    error_of(post_login(api_client, otp=code, headers=CLIENT), 401, "otp_invalid")


def test_an_unconfirmed_device_does_not_ask_for_a_code(api_client, users):
    TOTPDevice.objects.create(user=users["usuario"], name="novo", confirmed=False)
    assert post_login(api_client, headers=CLIENT).status_code == 200


# -- access tokens ----------------------------------------------------------------------------------------


def test_an_access_token_authenticates_with_one_query(api_client, users, assert_queries):
    access = login_pair(api_client, headers=CLIENT)["access"]
    with assert_queries(1):
        response = bearer(access).get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {"usuario": users["usuario"].pk, "scope": None}


def test_an_access_token_acts_with_the_full_role(api_client, users):
    access = login_pair(api_client, "gestor", headers=CLIENT)["access"]
    assert bearer(access).post("/api/tokens/", {"tipo_destino": "associado"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: forge(key="another-key-that-is-long-enough-0123"), id="wrong-key"),
        pytest.param(lambda: forge(aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda: forge(iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda: forge(nbf=int(time.time()) + 600), id="not-yet-valid"),
        pytest.param(lambda: forge(typ="refresh"), id="wrong-type"),
        pytest.param(lambda: forge(jti=None), id="no-jti"),
        pytest.param(lambda: forge(sid=None), id="no-sid"),
        pytest.param(lambda: forge(sid="not-a-uuid"), id="bad-sid"),
        pytest.param(lambda: forge(sub=7), id="numeric-sub"),
        pytest.param(lambda: forge(algorithm="HS512"), id="another-algorithm"),
        pytest.param(lambda: jwt.encode({"sub": "1", "typ": "access"}, None, algorithm="none"), id="alg-none"),
        pytest.param(lambda: forge()[:-3] + "abc", id="tampered-signature"),
        pytest.param(lambda: "eyJ.eyJ.sig", id="garbage"),
        pytest.param(lambda: tokens.generate(tokens.Kind.REFRESH), id="refresh-as-access"),
    ],
)
def test_bad_access_tokens_are_401_with_zero_queries(make, assert_queries):
    token = make()
    with assert_queries(0):
        response = bearer(token).get(WHOAMI)
    error_of(response, 401, "authentication_failed")


def test_an_expired_access_token_is_401_token_expired(assert_queries):
    past = int(time.time()) - 1000
    with assert_queries(0):
        response = bearer(forge(iat=past, nbf=past, exp=past + 300)).get(WHOAMI)
    error_of(response, 401, "token_expired")


def test_leeway_accepts_a_little_clock_skew(api_client, users, convites_settings):
    pair = login_pair(api_client, headers=CLIENT)
    claims = claims_of(pair["access"])
    late = forge(claims, exp=int(time.time()) - 5)
    error_of(bearer(late).get(WHOAMI), 401, "token_expired")
    convites_settings(JWT_LEEWAY=30)
    assert bearer(late).get(WHOAMI).status_code == 200


def test_a_tampered_payload_is_refused(api_client, users):
    access = login_pair(api_client, headers=CLIENT)["access"]
    header, payload, signature = access.split(".")
    other = forge(claims_of(access), sub=str(users["root"].pk)).split(".")[1]
    error_of(bearer(f"{header}.{other}.{signature}").get(WHOAMI), 401, "authentication_failed")


@pytest.fixture
def rsa_keys():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_rs256_signs_with_the_private_key_and_refuses_hs256_confusion(api_client, users, convites_settings, rsa_keys):
    private, public = rsa_keys
    convites_settings(JWT_ALGORITHM="RS256", JWT_SIGNING_KEY=private, JWT_VERIFYING_KEY=public)
    pair = login_pair(api_client, headers=CLIENT)
    assert jwt.get_unverified_header(pair["access"])["alg"] == "RS256"
    assert bearer(pair["access"]).get(WHOAMI).status_code == 200
    claims = claims_of(pair["access"])

    # The classic confusion: an HS256 token whose HMAC key is the public key everyone knows.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = b64(hmac_module.new(public.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    error_of(bearer(f"{head}.{body}.{signature}").get(WHOAMI), 401, "authentication_failed")


# -- refresh ----------------------------------------------------------------------------------------------


def test_refresh_spends_the_old_token_and_returns_a_new_pair(api_client, users):
    first = login_pair(api_client, headers=CLIENT)
    response = post_refresh(api_client, first["refresh"])
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert claims_of(second["access"])["sid"] == claims_of(first["access"])["sid"]
    assert RefreshToken.objects.filter(used_at__isnull=True).count() == 1
    family = SessionFamily.objects.get()
    assert family.last_refreshed_at is not None
    assert len(events("token_renovado")) == 1


def test_presenting_a_spent_refresh_token_ends_the_whole_family(api_client, users):
    first = login_pair(api_client, headers=CLIENT)
    second = post_refresh(api_client, first["refresh"]).json()
    assert bearer(second["access"]).get(WHOAMI).status_code == 200
    error_of(post_refresh(api_client, first["refresh"]), 401, "token_reused")
    family = SessionFamily.objects.get()
    assert family.revoked_at is not None and family.revoked_reason == "reuso"
    error_of(post_refresh(api_client, second["refresh"]), 401, "token_revoked")
    # The family's access tokens stop at once, not at their exp.
    error_of(bearer(second["access"]).get(WHOAMI), 401, "token_revoked")
    error_of(bearer(first["access"]).get(WHOAMI), 401, "token_revoked")
    assert len(events("refresh_reutilizado")) == 1


@pytest.mark.parametrize("ancestor", [0, 17, 49])
def test_a_chain_of_fifty_refreshes_and_the_reuse_of_any_ancestor(api_client, users, ancestor):
    chain = [login_pair(api_client, headers=CLIENT)]
    for _ in range(50):
        response = post_refresh(api_client, chain[-1]["refresh"])
        assert response.status_code == 200
        chain.append(response.json())
    assert RefreshToken.objects.count() == 51
    assert RefreshToken.objects.filter(used_at__isnull=True).count() == 1
    assert bearer(chain[-1]["access"]).get(WHOAMI).status_code == 200
    error_of(post_refresh(api_client, chain[ancestor]["refresh"]), 401, "token_reused")
    error_of(post_refresh(api_client, chain[-1]["refresh"]), 401, "token_revoked")
    error_of(bearer(chain[-1]["access"]).get(WHOAMI), 401, "token_revoked")


def test_other_sessions_survive_a_reuse(api_client, users):
    mine, other = login_pair(api_client, headers=CLIENT), login_pair(api_client, headers=CLIENT)
    post_refresh(api_client, mine["refresh"])
    post_refresh(api_client, mine["refresh"])
    assert post_refresh(api_client, other["refresh"]).status_code == 200


def test_an_expired_refresh_token_is_401_token_expired(api_client, users):
    pair = login_pair(api_client, headers=CLIENT)
    RefreshToken.objects.update(created_at=timezone.now() - datetime.timedelta(days=3), expires_at=timezone.now())
    error_of(post_refresh(api_client, pair["refresh"]), 401, "token_expired")
    assert SessionFamily.objects.get().revoked_at is None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"refresh": "cvr_nope"}, 401, "authentication_failed"),
        ({"refresh": tokens.generate(tokens.Kind.REFRESH)}, 401, "authentication_failed"),
        ({}, 400, "invalid"),
    ],
)
def test_unknown_or_malformed_refresh_tokens(api_client, body, status, code):
    response = api_client.post(REFRESH, body, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_the_grace_window_tolerates_only_the_immediate_predecessor(api_client, users, convites_settings):
    convites_settings(REFRESH_GRACE_PERIOD=30)
    first = login_pair(api_client, headers=CLIENT)
    second = post_refresh(api_client, first["refresh"]).json()
    # Another tab presents the first token again: it gets a pair, and the family lives on.
    again = post_refresh(api_client, first["refresh"])
    assert again.status_code == 200, again.content
    assert SessionFamily.objects.get().revoked_at is None
    assert RefreshToken.objects.filter(used_at__isnull=True).count() == 1
    error_of(post_refresh(api_client, second["refresh"]), 401, "token_reused")  # spent by the graced refresh
    assert SessionFamily.objects.get().revoked_at is not None


def test_outside_the_grace_window_a_predecessor_is_a_reuse(api_client, users, convites_settings):
    convites_settings(REFRESH_GRACE_PERIOD=30)
    first = login_pair(api_client, headers=CLIENT)
    post_refresh(api_client, first["refresh"])
    RefreshToken.objects.filter(used_at__isnull=False).update(used_at=timezone.now() - datetime.timedelta(seconds=31))
    error_of(post_refresh(api_client, first["refresh"]), 401, "token_reused")


def test_grace_does_not_reach_further_back(api_client, users, convites_settings):
    convites_settings(REFRESH_GRACE_PERIOD=30)
    first = login_pair(api_client, headers=CLIENT)
    second = post_refresh(api_client, first["refresh"]).json()
    post_refresh(api_client, second["refresh"])
    error_of(post_refresh(api_client, first["refresh"]), 401, "token_reused")


def test_the_reuse_revocation_survives_a_rolled_back_transaction(users):
    pair = sessions.login(username="usuario", password="x")
    sessions.refresh(pair.refresh)
    with pytest.raises(TokenReused), transaction.atomic():
        sessions.refresh(pair.refresh)
    deferred.flush()
    assert SessionFamily.objects.get().revoked_at is not None


# -- logout and sessions ----------------------------------------------------------------------------------


def test_logout_ends_the_family_and_its_access_tokens(api_client, users):
    pair = login_pair(api_client, headers=CLIENT)
    assert api_client.post(REVOKE, {"refresh": pair["refresh"]}, format="json").status_code == 204
    error_of(bearer(pair["access"]).get(WHOAMI), 401, "token_revoked")
    error_of(post_refresh(api_client, pair["refresh"]), 401, "token_revoked")
    error_of(api_client.post(REVOKE, {"refresh": "cvr_x"}, format="json"), 401, "authentication_failed")
    assert [e.details for e in events("sessao_revogada")] == [{"motivo": "logout"}]


def test_users_list_and_end_their_own_sessions(api_client, users):
    mine, other = login_pair(api_client, headers=CLIENT), login_pair(api_client, headers=CLIENT)
    theirs = login_pair(api_client, "gestor", headers=CLIENT)
    client = bearer(mine["access"])
    rows = client.get(SESSIONS).json()["results"]
    assert len(rows) == 2
    assert set(rows[0]) == {"id", "criado_em", "ultimo_refresh_em", "sessao_expira_em", "ip", "user_agent"}
    assert {(row["ip"], row["user_agent"]) for row in rows} == {("203.0.113.30", "app/3")}
    theirs_id = claims_of(theirs["access"])["sid"]
    error_of(client.delete(f"{SESSIONS}{theirs_id}/"), 404, "not_found")
    error_of(client.delete(f"{SESSIONS}nada/"), 404, "not_found")
    other_id = claims_of(other["access"])["sid"]
    assert client.delete(f"{SESSIONS}{other_id}/").status_code == 204
    error_of(bearer(other["access"]).get(WHOAMI), 401, "token_revoked")
    assert [row["id"] for row in client.get(SESSIONS).json()["results"]] == [claims_of(mine["access"])["sid"]]
    assert bearer(theirs["access"]).get(WHOAMI).status_code == 200


def test_a_password_change_ends_every_session(api_client, users):
    first, second = login_pair(api_client, headers=CLIENT), login_pair(api_client, headers=CLIENT)
    theirs = login_pair(api_client, "gestor", headers=CLIENT)
    users["usuario"].set_password("nova-senha")
    users["usuario"].save()
    for pair in (first, second):
        error_of(bearer(pair["access"]).get(WHOAMI), 401, "token_revoked")
    assert bearer(theirs["access"]).get(WHOAMI).status_code == 200
    assert events("sessao_revogada")[0].details == {"motivo": "senha_alterada", "sessoes": 2}


def test_a_deactivation_ends_every_session(api_client, users):
    pair = login_pair(api_client, headers=CLIENT)
    users["usuario"].is_active = False
    users["usuario"].save(update_fields=["is_active"])
    assert SessionFamily.objects.get().revoked_reason == "usuario_desativado"
    error_of(bearer(pair["access"]).get(WHOAMI), 401, "token_revoked")


def test_other_saves_of_the_user_leave_sessions_alone(api_client, users):
    pair = login_pair(api_client, headers=CLIENT)
    users["usuario"].first_name = "Ana"
    users["usuario"].save()
    assert bearer(pair["access"]).get(WHOAMI).status_code == 200


def test_no_secret_reaches_the_audit_log(api_client, users):
    pair = login_pair(api_client, headers=CLIENT)
    post_refresh(api_client, pair["refresh"])
    post_refresh(api_client, pair["refresh"])
    post_login(api_client, password="senha-secreta", headers=CLIENT)
    rows = " ".join(str(list(row.values())) for row in AuditEvent.objects.values())
    for secret in (pair["refresh"], pair["access"], tokens.digest(pair["refresh"]), "senha-secreta"):
        assert secret not in rows


# -- cleanup ----------------------------------------------------------------------------------------------


def test_cleanup_deletes_expired_tokens_and_dead_sessions(api_client, users):
    old, current = login_pair(api_client, headers=CLIENT), login_pair(api_client, headers=CLIENT)
    newest = post_refresh(api_client, current["refresh"]).json()
    long_ago = timezone.now() - datetime.timedelta(days=3)
    old_family = claims_of(old["access"])["sid"]
    SessionFamily.objects.filter(pk=old_family).update(created_at=long_ago)
    RefreshToken.objects.filter(family_id=old_family).update(
        created_at=long_ago, expires_at=long_ago + datetime.timedelta(days=1)
    )
    out = StringIO()
    call_command("convites_cleanup", "--batch-size", "1", stdout=out)
    assert "Deleted 1 expired refresh tokens, 1 ended sessions" in out.getvalue()
    assert list(SessionFamily.objects.values_list("pk", flat=True)) == [uuid.UUID(claims_of(current["access"])["sid"])]
    assert RefreshToken.objects.count() == 2
    assert post_refresh(api_client, newest["refresh"]).status_code == 200


# -- concurrency ------------------------------------------------------------------------------------------


@pytest.mark.parallel_db
def test_parallel_refreshes_of_one_token_issue_one_pair_and_end_the_family(users):
    from tests.parallel import THREADS, race

    pair = sessions.login(username="usuario", password="x")
    winners = []

    def work(index: int) -> None:
        winners.append(sessions.refresh(pair.refresh))

    outcomes = race(work)
    # One request spends the token. The others are reuses: those that read the family before it was
    # revoked revoke it (token_reused), those that read it after find it revoked (token_revoked).
    assert outcomes["ok"] == 1
    assert outcomes["token_reused"] >= 1
    assert outcomes["ok"] + outcomes["token_reused"] + outcomes["token_revoked"] == THREADS, outcomes
    assert len(winners) == 1
    assert RefreshToken.objects.count() == 2
    family = SessionFamily.objects.get()
    assert family.revoked_at is not None and family.revoked_reason == "reuso"
    error_of(post_refresh(APIClient(), winners[0].refresh), 401, "token_revoked")
    error_of(bearer(winners[0].access).get(WHOAMI), 401, "token_revoked")


@pytest.mark.parallel_db
def test_parallel_logins_with_one_totp_code_let_one_through(users, device, convites_settings):
    from collections import Counter

    from tests.parallel import THREADS, race

    convites_settings(TOTP_FAILURE_LIMIT=100)  # the replays count as wrong codes; no lockout here
    code = totp_code(device)
    outcomes = race(lambda index: sessions.login(username="usuario", password="x", otp=code))
    assert outcomes == Counter({"ok": 1, "otp_invalid": THREADS - 1})


def test_admin_lists_sessions_and_ends_them(client, users):
    from django.contrib.auth.models import Permission

    pair = sessions.login(username="usuario", password="x")
    users["admin"].is_staff = True
    users["admin"].save()
    users["admin"].user_permissions.add(*Permission.objects.filter(codename="view_sessionfamily"))
    client.force_login(users["admin"])
    page = client.get("/admin/django_convites/sessionfamily/")
    assert page.status_code == 200
    assert pair.refresh not in page.content.decode() and tokens.digest(pair.refresh) not in page.content.decode()
    assert "ends at" in page.content.decode().lower()  # the absolute end is a column
    detail = client.get(f"/admin/django_convites/sessionfamily/{pair.family.pk}/change/").content.decode()
    assert "ends at" in detail.lower()
    response = client.post(
        "/admin/django_convites/sessionfamily/",
        {"action": "end_selected", "_selected_action": [pair.family.pk]},
        follow=True,
    )
    assert "1 sessions ended." in response.content.decode()
    assert SessionFamily.objects.get().revoked_reason == "admin"
    error_of(bearer(pair.access).get(WHOAMI), 401, "token_revoked")


def test_es256_works_and_refuses_a_token_signed_with_another_key_pair(api_client, users, convites_settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def pem_pair():
        key = ec.generate_private_key(ec.SECP256R1())
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return private, public

    private, public = pem_pair()
    other_private, _ = pem_pair()
    convites_settings(JWT_ALGORITHM="ES256", JWT_SIGNING_KEY=private, JWT_VERIFYING_KEY=public)
    pair = login_pair(api_client, headers=CLIENT)
    assert jwt.get_unverified_header(pair["access"])["alg"] == "ES256"
    assert bearer(pair["access"]).get(WHOAMI).status_code == 200
    stranger = forge(claims_of(pair["access"]), key=other_private, algorithm="ES256")
    error_of(bearer(stranger).get(WHOAMI), 401, "authentication_failed")
    convites_settings(JWT_SIGNING_KEY=public, JWT_VERIFYING_KEY=private)  # the wrong way round
    from django_convites import checks

    assert [m.id for m in checks.check_invite_settings()] == ["django_convites.E031"]
