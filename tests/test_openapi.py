"""The OpenAPI schema tells the truth: every answer of the API, a success or an error, matches what the schema
says of its operation (its status is documented, its body matches the documented schema, an error's ``code``
is in that operation's enum), and the schema documents what the contract promises.

The walk below calls every operation of the schema as each kind of client would, with the states that make
the answers differ (fresh and used rows, null dates, refusals). drf-spectacular generates the schema in a
process of its own (:func:`tests.schema.api_schema`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from django_convites.api.schema import error_statuses
from django_convites.exceptions import ConvitesError
from tests.factories import (
    bearer,
    expire,
    issue,
    jwt_login,
    make_api_token,
    make_user,
    totp_code,
    wrong_code,
)
from tests.schema import api_schema, conformance_problems

pytest.importorskip("drf_spectacular")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return api_schema()


class Walker:
    """Sends requests and keeps, for each, what differs from the schema; and which operations it called."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.problems: list[str] = []
        self.called: set[tuple[str, str]] = set()

    def send(self, client: APIClient, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        if body is not None and "content_type" not in extra:
            extra.update(data=json.dumps(body), content_type="application/json")
        elif body is not None:
            extra.update(data=body)
        response = getattr(client, method.lower())(path, **extra)
        self.problems += conformance_problems(self.schema, method, path, response)
        from tests.schema import operation_for

        template, _ = operation_for(self.schema, method, path)
        self.called.add((method.lower(), template))
        return response


@pytest.fixture
def walker(schema: dict[str, Any]) -> Iterator[Walker]:
    walker = Walker(schema)
    yield walker
    assert walker.problems == []


def jwt_client(user: Any) -> APIClient:
    return bearer(jwt_login(user).access)


def test_every_answer_of_every_operation_matches_the_schema(
    walker: Walker, users: dict[str, Any], convites_settings: Any, schema: dict[str, Any]
) -> None:
    convites_settings(API_TOKEN_MAX_LIFETIME=None, INVITES_PER_DAY=2)
    send = walker.send
    anonymous = APIClient()
    root, gestor, usuario = jwt_client(users["root"]), jwt_client(users["gestor"]), jwt_client(users["usuario"])

    # -- sessions ------------------------------------------------------------------------------------------
    assert send(anonymous, "POST", "/api/auth/token/", {"username": "usuario", "password": "nope"}).status_code == 401
    assert send(anonymous, "POST", "/api/auth/token/", {"username": 5}).status_code == 400
    pair = send(anonymous, "POST", "/api/auth/token/", {"username": "usuario", "password": "x"}).json()
    assert send(anonymous, "POST", "/api/auth/token/refresh/", {"refresh": "cvr_nope"}).status_code == 401
    renewed = send(anonymous, "POST", "/api/auth/token/refresh/", {"refresh": pair["refresh"]}).json()
    assert send(anonymous, "POST", "/api/auth/token/refresh/", {"refresh": pair["refresh"]}).status_code == 401
    assert send(anonymous, "POST", "/api/auth/token/revoke/", {"refresh": renewed["refresh"]}).status_code == 204
    assert send(anonymous, "POST", "/api/auth/token/revoke/", {}).status_code == 400
    sessions = send(usuario, "GET", "/api/auth/sessoes/").json()["results"]
    assert sessions and sessions[0]["ultimo_refresh_em"] is None  # a session never refreshed
    other = jwt_login(users["usuario"]).family
    assert send(usuario, "DELETE", f"/api/auth/sessoes/{other.pk}/").status_code == 204
    assert send(usuario, "DELETE", "/api/auth/sessoes/nope/").status_code == 404
    assert send(anonymous, "GET", "/api/auth/sessoes/").status_code == 401
    assert send(bearer("not.a.jwt"), "GET", "/api/auth/sessoes/").status_code == 401
    assert send(usuario, "GET", "/api/auth/sessoes/?cursor=bad").status_code == 404

    # -- invites -------------------------------------------------------------------------------------------
    created = send(gestor, "POST", "/api/tokens/", {"tipo_destino": "associado"})
    assert created.status_code == 201 and created["X-Convites-Restantes"] == "1"
    invite = created.json()
    assert invite["usado_em"] is None and invite["revogado_em"] is None and invite["organizacao"] is None
    assert send(gestor, "POST", "/api/tokens/", {"tipo_destino": "chefe"}).status_code == 400
    assert send(gestor, "POST", "/api/tokens/", {"tipo_destino": "admin"}).status_code == 403
    assert send(usuario, "POST", "/api/tokens/", {"tipo_destino": "associado"}).status_code == 403
    assert send(gestor, "POST", "/api/tokens/", "{", content_type="application/json").status_code == 400
    assert send(gestor, "POST", "/api/tokens/", "tipo_destino=x", content_type="text/plain").status_code == 415
    huge = {"tipo_destino": "a" * (70 * 1024)}
    assert send(gestor, "POST", "/api/tokens/", huge).status_code == 413
    send(gestor, "POST", "/api/tokens/", {"tipo_destino": "associado"})
    over = send(gestor, "POST", "/api/tokens/", {"tipo_destino": "associado"})
    assert over.status_code == 429 and over["X-Convites-Restantes"] == "0" and over["Retry-After"]
    listed = send(gestor, "GET", "/api/tokens/?estado=novo").json()["results"]
    assert {row["estado"] for row in listed} == {"novo"}
    assert send(gestor, "GET", "/api/tokens/?estado=nenhum").status_code == 400
    assert send(usuario, "GET", "/api/tokens/").status_code == 403
    assert send(gestor, "GET", f"/api/tokens/{invite['id']}/").status_code == 200
    assert send(gestor, "GET", "/api/tokens/cvi_nope/").status_code == 400
    assert send(gestor, "GET", "/api/tokens/nope/").status_code == 404
    assert send(anonymous, "GET", f"/api/tokens/validate/?codigo={invite['codigo']}").status_code == 200
    assert send(anonymous, "POST", "/api/tokens/validate/", {"codigo": invite["codigo"]}).status_code == 200
    assert send(anonymous, "POST", "/api/tokens/validate/", {}).status_code == 400
    assert send(anonymous, "POST", "/api/tokens/validate/", []).status_code == 400
    assert send(anonymous, "GET", "/api/tokens/validate/").status_code == 400
    used = send(usuario, "POST", f"/api/tokens/{invite['id']}/use/", {"codigo": invite["codigo"]})
    assert used.status_code == 200 and used.json()["estado"] == "usado"
    assert send(usuario, "POST", f"/api/tokens/{invite['codigo']}/use/").status_code == 409
    assert send(anonymous, "POST", "/api/tokens/validate/", {"codigo": invite["codigo"]}).status_code == 410
    assert send(gestor, "POST", f"/api/tokens/{invite['id']}/revogar/").status_code == 409
    open_invite = issue(users["root"])
    revoked = send(root, "POST", f"/api/tokens/{open_invite.invite.pk}/revogar/")
    assert revoked.status_code == 200 and revoked.json()["revogado_em"]
    assert send(root, "POST", f"/api/tokens/{open_invite.code}/revogar/").status_code == 409
    assert send(usuario, "POST", f"/api/tokens/{open_invite.code}/use/").status_code == 410
    old = issue(users["root"])
    assert send(usuario, "POST", "/api/tokens/nope/use/").status_code == 400  # no code
    assert send(usuario, "POST", "/api/tokens/nope/use/", {"codigo": old.code}).status_code == 404
    expire(old.invite)
    assert send(anonymous, "GET", f"/api/tokens/validate/?codigo={old.code}").status_code == 410
    logs = send(gestor, "GET", f"/api/tokens/{invite['id']}/logs/?evento=convite_usado").json()["results"]
    assert [row["evento"] for row in logs] == ["convite_usado"]
    assert send(gestor, "GET", f"/api/tokens/{invite['id']}/logs/?ip=nope").status_code == 400
    assert send(usuario, "GET", f"/api/tokens/{invite['id']}/logs/").status_code == 403

    # Sending again: a bound invite, an unbound one.
    bound = issue(users["root"], email="convidada@example.com", link_base="http://testserver")
    assert send(root, "POST", f"/api/tokens/{bound.invite.pk}/reenviar/").status_code == 200
    assert send(root, "POST", f"/api/tokens/{bound.invite.pk}/reenviar/", {"x": 1}).status_code == 400
    assert send(root, "POST", f"/api/tokens/{old.invite.pk}/reenviar/").status_code == 410
    assert send(root, "POST", f"/api/tokens/{issue(users['root']).invite.pk}/reenviar/").status_code == 409
    assert len(mail.outbox) == 2

    # Signing up: an account and a session.
    fresh = issue(users["root"])
    signup = {"username": "nova", "email": "nova@example.com", "password": "uma senha longa 42"}
    assert send(anonymous, "POST", f"/api/tokens/{fresh.code}/registrar/", signup).status_code == 201
    assert send(anonymous, "POST", f"/api/tokens/{fresh.code}/registrar/", signup).status_code == 409
    another = issue(users["root"])
    assert send(anonymous, "POST", f"/api/tokens/{another.code}/registrar/", {"email": "x"}).status_code == 400

    # -- API tokens ----------------------------------------------------------------------------------------
    made = send(root, "POST", "/api/api-tokens/", {"scope": "read", "nome": "ci"})
    assert made.status_code == 201
    token = made.json()
    assert token["expira_em"] is None and token["ultimo_uso_em"] is None and token["revogado_em"] is None
    assert send(usuario, "POST", "/api/api-tokens/", {"scope": "admin"}).status_code == 403
    assert send(usuario, "POST", "/api/api-tokens/", {"scope": "x", "ips_permitidos": ["nope"]}).status_code == 400
    reader = bearer(token["token"])
    listed = send(reader, "GET", "/api/api-tokens/").json()["results"]
    assert listed[0]["ultimo_uso_ip"] == "127.0.0.1"
    assert send(reader, "POST", "/api/api-tokens/", {"scope": "read"}).status_code == 403
    assert send(reader, "POST", "/api/2fa/totp/").status_code == 403
    assert send(root, "GET", f"/api/api-tokens/?usuario={users['gestor'].pk}").status_code == 200
    assert send(gestor, "GET", f"/api/api-tokens/?usuario={users['root'].pk}").status_code == 403
    assert send(gestor, "GET", "/api/api-tokens/?usuario=abc").status_code == 400
    assert send(root, "GET", f"/api/api-tokens/{token['id']}/").status_code == 200
    assert send(gestor, "GET", f"/api/api-tokens/{token['id']}/").status_code == 404
    assert send(root, "GET", f"/api/api-tokens/{token['id']}/logs/").status_code == 200
    assert send(root, "GET", "/api/api-tokens/nope/logs/").status_code == 404
    rotated = send(root, "POST", f"/api/api-tokens/{token['id']}/rotacionar/")
    assert rotated.status_code == 201
    assert send(root, "POST", f"/api/api-tokens/{token['id']}/rotacionar/").status_code == 409
    assert send(reader, "GET", "/api/api-tokens/").status_code == 401  # revoked by the rotation
    gestor_token = make_api_token(users["gestor"]).token
    assert send(root, "POST", f"/api/api-tokens/{gestor_token.pk}/rotacionar/").status_code == 403
    assert send(root, "DELETE", f"/api/api-tokens/{rotated.json()['id']}/").status_code == 204
    assert send(root, "DELETE", "/api/api-tokens/nope/").status_code == 404
    long_ago = timezone.now() - timedelta(days=10)
    expired = make_api_token(
        users["usuario"], direct=True, created_at=long_ago, expires_at=long_ago + timedelta(days=1)
    )
    assert send(bearer(expired.secret), "GET", "/api/2fa/").status_code == 401
    fenced = make_api_token(users["usuario"], "write", allowed_ips=["10.0.0.0/8"])
    assert send(bearer(fenced.secret), "GET", "/api/2fa/").status_code == 403

    # -- the audit log -------------------------------------------------------------------------------------
    events = send(root, "GET", "/api/auditoria/?limite=5").json()
    assert events["results"] and events["next"]
    assert send(root, "GET", "/api/auditoria/?desde=2030-01-02T00:00:00Z&ate=2030-01-01T00:00:00Z").status_code == 400
    assert send(gestor, "GET", f"/api/auditoria/?usuario={users['root'].pk}").status_code == 403
    assert send(root, "GET", "/api/auditoria/?cursor=bad").status_code == 404
    assert send(usuario, "GET", "/api/auditoria/acessos/").status_code == 200
    assert send(usuario, "GET", "/api/auditoria/acessos/?limite=500").status_code == 400
    assert send(usuario, "GET", f"/api/auditoria/acessos/?usuario={users['root'].pk}").status_code == 403

    # -- two factors ---------------------------------------------------------------------------------------
    admin = jwt_client(users["admin"])
    assert send(admin, "GET", "/api/2fa/").json()["ativo"] is False
    enrolment = send(admin, "POST", "/api/2fa/totp/").json()
    assert send(admin, "POST", "/api/2fa/totp/confirmar/", {"codigo": "12"}).status_code == 400
    assert send(admin, "POST", "/api/2fa/totp/confirmar/", {"codigo": 12}).status_code == 400
    code = totp_code(enrolment["segredo"])
    assert send(admin, "POST", "/api/2fa/totp/confirmar/", {"codigo": code}).status_code == 200
    assert send(admin, "POST", "/api/2fa/totp/").status_code == 409
    assert send(admin, "POST", "/api/2fa/codigos-backup/", {"codigo": wrong_code(code)}).status_code == 400
    assert send(admin, "POST", "/api/2fa/desativar/", {"codigo": wrong_code(code)}).status_code == 400
    assert send(admin, "POST", "/api/auth/token/", {"username": "admin", "password": "x"}).status_code == 401
    backup = send(admin, "POST", "/api/2fa/codigos-backup/", {"codigo": totp_code(enrolment["segredo"], at=1e9)})
    assert backup.status_code == 400  # an old step
    assert send(admin, "POST", "/api/2fa/desativar/", {"codigo": totp_code(enrolment["segredo"])}).status_code == 400
    unverified = make_user(role="usuario")
    from tests.factories import confirmed_totp

    confirmed_totp(unverified)
    from tests.factories import browser_as

    assert send(browser_as(unverified), "GET", "/api/auditoria/").status_code == 403  # two_factor_required

    # -- authentication codes ------------------------------------------------------------------------------
    person = make_user(role="usuario", email="pessoa@example.com")
    client = jwt_client(person)
    assert send(client, "POST", "/api/codigos/", {}).status_code == 201
    assert send(client, "POST", "/api/codigos/", {"finalidade": "cvp_" + "a" * 10}).status_code == 400
    assert send(client, "POST", "/api/codigos/", {}).status_code == 429
    assert send(client, "POST", "/api/codigos/validar/", {"codigo": "000000x"}).status_code == 400
    assert send(jwt_client(users["usuario"]), "POST", "/api/codigos/", {}).status_code == 409  # no address

    # Every operation of the schema was called at least once.
    every = {(method, template) for template, operations in schema["paths"].items() for method in operations}
    assert every - walker.called == set()


# -- what the fuzzer found (tests/fuzz/run.py) ----------------------------------------------------------------


def test_an_access_history_from_long_ago_answers_desde_as_rfc_3339(walker: Walker, users: dict[str, Any]) -> None:
    # ?desde= in year 7 was echoed in the site's zone, America/Sao_Paulo, whose offset then was local mean
    # time: "0007-05-12T17:52:27.455000-03:06:28", no RFC 3339 date-time (schemathesis, root phase).
    answer = walker.send(jwt_client(users["root"]), "GET", "/api/auditoria/acessos/?desde=0007-05-12T20:58:55.455Z")
    assert answer.status_code == 200
    assert answer.json()["desde"] == "0007-05-12T20:58:55.455000Z"
    # A usual instant is still given in the site's zone.
    answer = walker.send(jwt_client(users["root"]), "GET", "/api/auditoria/acessos/?desde=2025-05-12T20:58:55Z")
    assert answer.json()["desde"] == "2025-05-12T17:58:55-03:00"


# -- what the schema says -------------------------------------------------------------------------------------


def test_every_error_answer_uses_the_shared_component_and_lists_its_codes(schema: dict[str, Any]) -> None:
    statuses = error_statuses()
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                body = response["content"]["application/json"]["schema"]
                base, narrowed = body["allOf"]
                expected = (
                    "ConvitesValidationError"
                    if "invalid" in narrowed["properties"]["code"]["enum"]
                    else "ConvitesError"
                )
                assert base == {"$ref": f"#/components/schemas/{expected}"}, (method, template, status)
                for code in narrowed["properties"]["code"]["enum"]:
                    assert int(status) in statuses[code], (method, template, status, code)
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, template, status)


def test_every_operation_that_needs_a_login_documents_401_and_503(schema: dict[str, Any]) -> None:
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert (
                "database_busy"
                in operation["responses"]["503"]["content"]["application/json"]["schema"]["allOf"][1]["properties"][
                    "code"
                ]["enum"]
            )
            if {} not in operation["security"]:
                assert "401" in operation["responses"], (method, template)


def test_the_schema_names_two_bearer_schemes_and_the_session(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["convitesJWT"]["bearerFormat"] == "JWT"
    assert schemes["convitesApiToken"]["bearerFormat"] == "cvp_..."
    assert {schemes[name]["scheme"] for name in ("convitesJWT", "convitesApiToken")} == {"bearer"}
    assert schemes["cookieAuth"]["in"] == "cookie"
    # API tokens never change two-factor devices or spend authentication codes.
    assert schema["paths"]["/2fa/totp/"]["post"]["security"] == [{"convitesJWT": []}, {"cookieAuth": []}]
    assert {"convitesApiToken": []} in schema["paths"]["/tokens/"]["post"]["security"]


def test_nullable_fields_are_nullable(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    nullable = {
        "ApiToken": ["expira_em", "ultimo_uso_em", "ultimo_uso_ip", "revogado_em"],
        "Invite": ["organizacao", "email", "gerado_por", "usado_em", "usado_por", "revogado_em", "revogado_por"],
        "Session": ["ultimo_refresh_em", "ip"],
        "AuditEvent": ["usuario", "ip"],
    }
    for component, fields in nullable.items():
        for name in fields:
            assert components[component]["properties"][name].get("nullable") is True, (component, name)
    # A use answers when it was used, a revocation when it was revoked: never null there.
    assert "nullable" not in components["UsedInvite"]["properties"]["usado_em"]
    assert "nullable" not in components["RevokedInvite"]["properties"]["revogado_em"]


def test_enums_for_the_state_and_the_target_type(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    state = components["Invite"]["properties"]["estado"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components[state]["enum"] == ["novo", "usado", "expirado", "revogado"]
    target = components["InviteCreate"]["properties"]["tipo_destino"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components[target]["enum"] == ["admin", "associado", "convidado", "coordenador", "nucleado"]
    # In answers, a plain string: an invite keeps a type the site has dropped since.
    assert components["Invite"]["properties"]["tipo_destino"]["type"] == "string"
    listed = {parameter["name"]: parameter for parameter in schema["paths"]["/tokens/"]["get"]["parameters"]}
    assert listed["estado"]["schema"]["enum"] == ["novo", "usado", "expirado", "revogado"]


def test_the_use_body_is_optional_and_the_validate_body_is_not(schema: dict[str, Any]) -> None:
    use = schema["paths"]["/tokens/{ref}/use/"]["post"]
    assert not use["requestBody"].get("required", False)
    body = schema["components"]["schemas"]["InviteUse"]
    assert "required" not in body
    validate = schema["components"]["schemas"]["Code"]
    assert validate["required"] == ["codigo"]


def test_every_list_documents_its_filters(schema: dict[str, Any]) -> None:
    def names(template: str) -> set[str]:
        return {parameter["name"] for parameter in schema["paths"][template]["get"].get("parameters", [])}

    audit = {"usuario", "evento", "alvo_tipo", "alvo_id", "ip", "desde", "ate", "cursor", "limite"}
    assert names("/auditoria/") == audit
    assert names("/tokens/{ref}/logs/") == audit | {"ref"}
    assert names("/api-tokens/{token_id}/logs/") == audit | {"token_id"}
    assert names("/tokens/") == {"estado", "cursor", "limite"}
    assert names("/api-tokens/") == {"usuario", "cursor", "limite"}
    assert names("/auth/sessoes/") == {"cursor", "limite"}
    assert names("/auditoria/acessos/") == {"usuario", "desde", "limite"}
    dates = {
        parameter["name"]: parameter["schema"] for parameter in schema["paths"]["/auditoria/"]["get"]["parameters"]
    }
    assert dates["desde"]["format"] == dates["ate"]["format"] == "date-time"


def test_the_invite_creation_documents_the_remaining_invites_header(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/tokens/"]["post"]["responses"]
    for status in ("201", "429"):
        assert responses[status]["headers"]["X-Convites-Restantes"]["schema"]["type"] == "integer"


def test_a_code_of_every_domain_error_is_known_to_the_schema() -> None:
    statuses = error_statuses()
    for cls in ConvitesError.__subclasses__():
        assert cls.code in statuses
