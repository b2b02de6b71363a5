"""Contract section 5 row by row, the API-token cells of section 3, and the Bearer authentication."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from django_convites import tokens
from django_convites.models import ApiToken, AuditEvent
from django_convites.roles import forget_role
from django_convites.services import api_tokens
from tests.factories import bearer, events, make_api_token, make_user
from tests.invites import error_of

pytestmark = pytest.mark.django_db

URL = "/api/api-tokens/"
WHOAMI = "/api/t/whoami/"
TOKEN_FIELDS = {
    "id",
    "nome",
    "scope",
    "prefixo",
    "criado_em",
    "expira_em",
    "ultimo_uso_em",
    "ultimo_uso_ip",
    "ips_permitidos",
    "revogado_em",
    "usuario",
}


# -- POST /api/api-tokens/ ---------------------------------------------------------------------------------


def test_create_returns_the_secret_once(api_client, users):
    api_client.force_authenticate(users["usuario"])
    response = api_client.post(URL, {"nome": "ci", "scope": "read"}, format="json", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == TOKEN_FIELDS | {"token"}
    tokens.parse(data["token"], tokens.Kind.API_TOKEN)
    assert data["prefixo"] == data["token"][:8]
    assert (data["nome"], data["scope"], data["ips_permitidos"]) == ("ci", "read", [])
    # Without expira_em, a token lives API_TOKEN_MAX_LIFETIME (one year by default).
    expires = ApiToken.objects.get().expires_at - timezone.now()
    assert timedelta(days=364) < expires <= timedelta(days=365)
    assert data["usuario"] == users["usuario"].pk
    assert response["Cache-Control"] == "no-store"
    stored = ApiToken.objects.get()
    assert stored.digest == tokens.digest(data["token"])
    assert data["token"] not in {str(getattr(stored, f.attname)) for f in ApiToken._meta.concrete_fields}
    listed = api_client.get(URL).json()["results"]
    assert [row["id"] for row in listed] == [data["id"]]
    assert "token" not in listed[0]
    (issued,) = events("api_token_gerado")
    assert issued.ip == "203.0.113.5" and issued.details["scope"] == "read"


@pytest.mark.parametrize(("role", "status"), [("root", 201), ("admin", 201), ("gestor", 403), ("usuario", 403)])
def test_admin_scope_follows_the_role_table(api_client, users, role, status):
    api_client.force_authenticate(users[role])
    response = api_client.post(URL, {"scope": "admin"}, format="json")
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "scope_not_allowed"
        assert events("api_token_negado")[0].details == {"motivo": "scope_not_allowed"}
        assert not ApiToken.objects.exists()


@pytest.mark.parametrize("role", ["root", "admin", "gestor", "usuario"])
def test_everyone_creates_read_and_write_tokens(api_client, users, role):
    api_client.force_authenticate(users[role])
    for scope in ("read", "write"):
        assert api_client.post(URL, {"scope": scope}, format="json").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scope": "superuser"},
        {"scope": ""},
        {"scope": None},
        {"scope": "read", "expira_em": "abc"},
        {"scope": "read", "expira_em": -1},
        {"scope": "read", "expira_em": "2020-01-01T00:00:00Z"},
        {"scope": "read", "ips_permitidos": ["10.0.0.0/33"]},
        {"scope": "read", "ips_permitidos": "10.0.0.0/8"},
        {"scope": "read", "ips_permitidos": ["x"] * 33},
        {"scope": "read", "nome": "n" * 101},
        {"scope": "read", "expires_in": 1},
    ],
)
def test_bad_bodies_are_400_and_write_nothing(api_client, users, body):
    api_client.force_authenticate(users["usuario"])
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert not ApiToken.objects.exists()


def test_networks_are_normalised(api_client, users):
    api_client.force_authenticate(users["usuario"])
    body = {"scope": "read", "ips_permitidos": ["10.1.2.3/8", "2001:db8::1", "10.0.0.0/8"]}
    assert api_client.post(URL, body, format="json").json()["ips_permitidos"] == ["10.0.0.0/8", "2001:db8::1/128"]


# -- Bearer authentication -------------------------------------------------------------------------------


def test_a_valid_token_authenticates_with_one_query(users, assert_queries):
    created = make_api_token(users["usuario"])
    client = bearer(created.secret)
    client.get(WHOAMI)  # the first use of the minute writes ultimo_uso_*
    with assert_queries(1):
        response = client.get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == {"usuario": users["usuario"].pk, "scope": "read"}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cvp_abc",
        "Bearer " + "cvp_" + "A" * 33,
        "Bearer cvi_" + "A" * 33,
        "Bearer",
        "Bearer " + "x" * 5000,
        "bearer eyJ.eyJ.sig",
    ],
)
def test_a_malformed_credential_is_401_with_zero_queries(header, assert_queries):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    with assert_queries(0):
        response = client.get(WHOAMI)
    error_of(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_unknown_token_is_401_with_one_query(assert_queries):
    client = bearer(tokens.generate(tokens.Kind.API_TOKEN))
    with assert_queries(1):
        response = client.get(WHOAMI)
    error_of(response, 401, "authentication_failed")


def test_other_schemes_are_left_to_the_next_authenticator(users):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXN1YXJpbzp4")
    assert client.get(WHOAMI).status_code == 401


def test_an_expired_token_is_401_token_expired(users):
    created = make_api_token(users["usuario"], expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.update(
        expires_at=timezone.now() - timedelta(seconds=1), created_at=timezone.now() - timedelta(days=1)
    )
    error_of(bearer(created.secret).get(WHOAMI), 401, "token_expired")
    assert events("api_token_negado")[0].details == {"motivo": "token_expired", "tentativas": 1}


def test_a_revoked_token_is_401_at_the_next_request(users):
    created = make_api_token(users["usuario"])
    client = bearer(created.secret)
    assert client.get(WHOAMI).status_code == 200
    api_tokens.revoke_api_token(created.token.pk, actor=users["usuario"])
    error_of(client.get(WHOAMI), 401, "token_revoked")


def test_an_inactive_owner_is_401(users):
    created = make_api_token(users["usuario"])
    users["usuario"].is_active = False
    users["usuario"].save()
    error_of(bearer(created.secret).get(WHOAMI), 401, "authentication_failed")
    assert events("api_token_negado")[0].details == {"motivo": "user_inactive", "tentativas": 1}


def test_last_use_is_written_at_most_once_a_minute(users):
    created = make_api_token(users["usuario"])
    client = bearer(created.secret, REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT="script/1")
    for _ in range(3):
        assert client.get(WHOAMI).status_code == 200
    token = ApiToken.objects.get()
    assert token.last_used_ip == "198.51.100.9"
    first = token.last_used_at
    (used,) = events("api_token_usado")
    assert (used.ip, used.user_agent, used.actor) == ("198.51.100.9", "script/1", users["usuario"])
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    client.get(WHOAMI)
    assert len(events("api_token_usado")) == 2
    assert ApiToken.objects.get().last_used_at > first


# -- IP allow-lists ---------------------------------------------------------------------------------------


def test_an_address_outside_the_allow_list_is_403(users):
    created = make_api_token(users["usuario"], allowed_ips=["1.1.1.1"])
    assert bearer(created.secret, REMOTE_ADDR="1.1.1.1").get(WHOAMI).status_code == 200
    error_of(bearer(created.secret, REMOTE_ADDR="10.0.0.1").get(WHOAMI), 403, "ip_not_allowed")
    assert events("api_token_negado")[-1].details == {"motivo": "ip_not_allowed", "tentativas": 1}


def test_a_spoofed_forwarded_for_does_not_pass_the_allow_list(users):
    created = make_api_token(users["usuario"], allowed_ips=["1.1.1.1"])
    client = bearer(created.secret, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    error_of(client.get(WHOAMI), 403, "ip_not_allowed")


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "status"),
    [
        (1, "10.0.0.1", "1.1.1.1", 200),
        (["10.0.0.0/8"], "10.0.0.1", "1.1.1.1", 200),
        (["10.0.0.0/8"], "10.0.0.1", "1.1.1.1, 10.0.0.2", 200),
        (["10.0.0.0/8"], "192.0.2.1", "1.1.1.1", 403),
        (1, "10.0.0.1", "1.1.1.1, 6.6.6.6", 403),
    ],
)
def test_allow_lists_behind_trusted_proxies(users, convites_settings, proxies, remote, forwarded, status):
    convites_settings(TRUSTED_PROXIES=proxies)
    created = make_api_token(users["usuario"], allowed_ips=["1.1.1.0/24"])
    client = bearer(created.secret, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client.get(WHOAMI).status_code == status


# -- scopes -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_read_token_may_not_use_unsafe_methods(users, method):
    created = make_api_token(users["usuario"], scope="read")
    response = getattr(bearer(created.secret), method)(WHOAMI, {}, format="json")
    error_of(response, 403, "insufficient_scope")
    assert events("api_token_negado")[-1].details == {
        "motivo": "insufficient_scope",
        "necessario": "write",
        "tentativas": 1,
    }


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_token_may(users, method):
    created = make_api_token(users["usuario"], scope="write")
    assert getattr(bearer(created.secret), method)(WHOAMI, {}, format="json").status_code == 200


@pytest.mark.parametrize(("scope", "status"), [("read", 403), ("write", 403), ("admin", 200)])
def test_a_view_may_require_a_scope(users, scope, status):
    created = make_api_token(users["admin"], scope=scope)
    assert bearer(created.secret).get("/api/t/admin-scope/").status_code == status


def test_a_read_token_cannot_mint_a_token(users):
    created = make_api_token(users["admin"], scope="read")
    error_of(bearer(created.secret).post(URL, {"scope": "read"}, format="json"), 403, "insufficient_scope")


def test_a_write_token_cannot_mint_a_wider_token(users):
    created = make_api_token(users["admin"], scope="write")
    client = bearer(created.secret)
    error_of(client.post(URL, {"scope": "admin"}, format="json"), 403, "scope_not_allowed")
    assert client.post(URL, {"scope": "write"}, format="json").status_code == 201
    assert client.post(URL, {"scope": "read"}, format="json").status_code == 201


def test_an_admin_token_of_a_demoted_owner_gets_only_the_new_role(users):
    created = make_api_token(users["admin"], scope="admin")
    client = bearer(created.secret)
    assert client.post(URL, {"scope": "admin"}, format="json").status_code == 201
    users["admin"].groups.remove(Group.objects.get(name="admin"))
    forget_role(users["admin"])
    error_of(client.post(URL, {"scope": "admin"}, format="json"), 403, "scope_not_allowed")
    error_of(client.post("/api/tokens/", {"tipo_destino": "associado"}, format="json"), 403, "permission_denied")


def test_without_the_admin_scope_a_token_acts_on_its_owners_objects_only(users):
    other = make_api_token(users["usuario"])
    write = bearer(make_api_token(users["admin"], scope="write").secret)
    admin = bearer(make_api_token(users["admin"], scope="admin").secret)
    error_of(write.get(URL, {"usuario": users["usuario"].pk}), 403, "permission_denied")
    error_of(write.delete(f"{URL}{other.token.pk}/"), 404, "not_found")
    assert admin.get(URL, {"usuario": users["usuario"].pk}).json()["results"][0]["id"] == str(other.token.pk)
    # Reading other people's audit events is an admin-scope action too.
    assert {row["usuario"] for row in write.get("/api/auditoria/").json()["results"]} <= {users["admin"].pk}
    assert users["usuario"].pk in {row["usuario"] for row in admin.get("/api/auditoria/").json()["results"]}


def test_invites_follow_the_token_scope(users):
    read = bearer(make_api_token(users["gestor"], scope="read").secret)
    write = bearer(make_api_token(users["gestor"], scope="write").secret)
    error_of(read.post("/api/tokens/", {"tipo_destino": "associado"}, format="json"), 403, "insufficient_scope")
    response = write.post("/api/tokens/", {"tipo_destino": "associado"}, format="json")
    assert response.status_code == 201
    assert read.get("/api/tokens/").json()["results"][0]["id"] == response.json()["id"]


# -- list, revoke, rotate, logs ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["gestor", "usuario"])
def test_others_list_only_their_own(api_client, users, role):
    make_api_token(users["root"])
    own = make_api_token(users[role])
    api_client.force_authenticate(users[role])
    assert [row["id"] for row in api_client.get(URL).json()["results"]] == [str(own.token.pk)]
    error_of(api_client.get(URL, {"usuario": users["root"].pk}), 403, "permission_denied")


@pytest.mark.parametrize("role", ["root", "admin"])
def test_root_and_admin_list_anyones(api_client, users, role):
    theirs = make_api_token(users["usuario"])
    api_client.force_authenticate(users[role])
    assert api_client.get(URL).json()["results"] == []
    assert [row["id"] for row in api_client.get(URL, {"usuario": users["usuario"].pk}).json()["results"]] == [
        str(theirs.token.pk)
    ]
    assert api_client.get(URL, {"usuario": "abc"}).status_code == 400


def test_delete_revokes_and_keeps_the_row_idempotently(api_client, users):
    created = make_api_token(users["usuario"])
    api_client.force_authenticate(users["usuario"])
    response = api_client.delete(f"{URL}{created.token.pk}/", REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 204
    token = ApiToken.objects.get()
    assert token.revoked_at is not None and token.revoked_by == users["usuario"]
    assert api_client.delete(f"{URL}{created.token.pk}/").status_code == 204
    (revoked,) = events("api_token_revogado")
    assert revoked.ip == "203.0.113.8"


def test_another_users_token_is_404_unless_root_or_admin(api_client, users):
    created = make_api_token(users["usuario"])
    for role in ("gestor",):
        api_client.force_authenticate(users[role])
        error_of(api_client.delete(f"{URL}{created.token.pk}/"), 404, "not_found")
        error_of(api_client.get(f"{URL}{created.token.pk}/logs/"), 404, "not_found")
        error_of(api_client.post(f"{URL}{created.token.pk}/rotacionar/"), 404, "not_found")
    assert ApiToken.objects.get().revoked_at is None
    api_client.force_authenticate(users["admin"])
    assert api_client.delete(f"{URL}{created.token.pk}/").status_code == 204
    assert ApiToken.objects.get().revoked_by == users["admin"]


@pytest.mark.parametrize("ref", ["123", "nada", str(uuid.uuid4())])
def test_unknown_or_malformed_ids_are_404(api_client, users, ref):
    api_client.force_authenticate(users["root"])
    error_of(api_client.delete(f"{URL}{ref}/"), 404, "not_found")


def test_rotation_keeps_name_scope_networks_and_lifetime(api_client, users):
    created = make_api_token(
        users["usuario"],
        scope="write",
        name="deploy",
        allowed_ips=["10.0.0.0/8"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    api_client.force_authenticate(users["usuario"])
    response = api_client.post(f"{URL}{created.token.pk}/rotacionar/")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["token"] != created.secret
    assert (data["nome"], data["scope"], data["ips_permitidos"]) == ("deploy", "write", ["10.0.0.0/8"])
    new = ApiToken.objects.get(pk=data["id"])
    assert new.rotated_from_id == created.token.pk
    assert abs((new.expires_at - new.created_at) - timedelta(days=30)) < timedelta(seconds=1)
    assert ApiToken.objects.get(pk=created.token.pk).revoked_at is not None
    error_of(api_client.post(f"{URL}{created.token.pk}/rotacionar/"), 409, "token_revoked")
    assert len(events("api_token_rotacionado")) == 1
    error_of(bearer(created.secret, REMOTE_ADDR="10.0.0.1").get(WHOAMI), 401, "token_revoked")
    assert bearer(data["token"], REMOTE_ADDR="10.0.0.1").get(WHOAMI).status_code == 200


def test_logs_show_who_used_it_when_and_from_where(api_client, users):
    created = make_api_token(users["usuario"])
    bearer(created.secret, REMOTE_ADDR="198.51.100.20", HTTP_USER_AGENT="bot/2").get(WHOAMI)
    api_client.force_authenticate(users["usuario"])
    rows = api_client.get(f"{URL}{created.token.pk}/logs/").json()["results"]
    assert [row["evento"] for row in rows] == ["api_token_usado", "api_token_gerado"]
    assert (rows[0]["ip"], rows[0]["user_agent"], rows[0]["usuario"]) == ("198.51.100.20", "bot/2", users["usuario"].pk)


def test_the_secret_is_never_shown_again(api_client, users):
    created = make_api_token(users["usuario"])
    bearer(created.secret).get(WHOAMI)
    api_client.force_authenticate(users["root"])
    for path in (
        f"{URL}?usuario={users['usuario'].pk}",
        f"{URL}{created.token.pk}/",
        f"{URL}{created.token.pk}/logs/",
        "/api/auditoria/",
    ):
        body = api_client.get(path).content.decode()
        assert created.secret not in body and created.token.digest not in body
    rows = [str(list(row.values())) for row in AuditEvent.objects.values()]
    assert not any(created.secret in row or created.token.digest in row for row in rows)


def test_anonymous_listing_is_401(api_client):
    response = api_client.get(URL)
    error_of(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_demoted_owner_keeps_tokens_but_not_the_power(users):
    boss = make_user("boss", role="admin")
    created = make_api_token(boss, scope="admin")
    boss.groups.clear()
    assert bearer(created.secret).get(URL, {"usuario": users["usuario"].pk}).status_code == 403


@pytest.mark.parallel_db
def test_concurrent_first_uses_write_the_last_use_once():
    from tests.parallel import THREADS, race

    owner = make_user("dono")
    created = make_api_token(owner)

    def work(index: int) -> None:
        response = bearer(created.secret, REMOTE_ADDR=f"198.51.100.{index + 1}").get(WHOAMI)
        assert response.status_code == 200

    assert race(work) == {"ok": THREADS}
    assert AuditEvent.objects.filter(event="api_token_usado").count() == 1
    assert ApiToken.objects.get().last_used_ip is not None


# -- admin and commands -----------------------------------------------------------------------------------


def test_admin_lists_and_revokes_without_showing_secrets(client, users):
    from django.contrib.auth.models import Permission

    users["admin"].is_staff = True
    users["admin"].save()
    users["admin"].user_permissions.add(*Permission.objects.filter(codename="view_apitoken"))
    client.force_login(users["admin"])
    created = make_api_token(users["usuario"], name="integração")
    pages = [
        client.get("/admin/django_convites/apitoken/"),
        client.get("/admin/django_convites/apitoken/", {"q": created.secret[:8]}),
        client.get(f"/admin/django_convites/apitoken/{created.token.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert created.secret not in html and created.token.digest not in html
    assert "integração" in pages[1].content.decode()
    assert client.get("/admin/django_convites/apitoken/add/").status_code == 403
    response = client.post(
        "/admin/django_convites/apitoken/",
        {"action": "revoke_selected", "_selected_action": [created.token.pk]},
        follow=True,
    )
    assert "1 revoked, 0 left as they were." in response.content.decode()
    assert ApiToken.objects.get().revoked_by == users["admin"]


def test_bulk_revocation_command(users):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    old = make_api_token(users["usuario"], scope="write")
    ApiToken.objects.filter(pk=old.token.pk).update(created_at=timezone.now() - timedelta(days=100))
    mine = make_api_token(users["usuario"], scope="read")
    theirs = make_api_token(users["gestor"], scope="read")
    out = StringIO()
    call_command("convites_revoke_api_tokens", "--older-than", "30", "--dry-run", stdout=out)
    assert "1 API tokens would be revoked." in out.getvalue()
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    call_command("convites_revoke_api_tokens", "--user", "usuario", "--scope", "read", stdout=out)
    assert "Revoked 1 API tokens." in out.getvalue()
    assert set(ApiToken.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)) == {mine.token.pk}
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None
    assert len(events("api_token_revogado")) == 1
    with pytest.raises(CommandError):
        call_command("convites_revoke_api_tokens")
    with pytest.raises(CommandError):
        call_command("convites_revoke_api_tokens", "--user", "ninguem")


def test_stale_token_report(users):
    from io import StringIO

    from django.core.management import call_command

    never = make_api_token(users["usuario"], name="nunca")
    idle = make_api_token(users["usuario"], name="parado")
    fresh = make_api_token(users["usuario"], name="novo")
    long_ago = timezone.now() - timedelta(days=200)
    ApiToken.objects.filter(pk__in=[never.token.pk, idle.token.pk]).update(created_at=long_ago)
    ApiToken.objects.filter(pk=idle.token.pk).update(last_used_at=timezone.now() - timedelta(days=100))
    out = StringIO()
    call_command("convites_stale_api_tokens", "--days", "90", stdout=out)
    report = out.getvalue()
    assert "nunca" in report and "parado" in report and "novo" not in report
    assert "2 stale API tokens" in report
    assert never.secret not in report and fresh.secret not in report
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 3
