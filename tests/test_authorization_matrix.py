"""The authorization matrix of ``docs/roles.rst``, checked cell by cell against the running API.

For every row of the documented table (an endpoint), every role, every credential (a session, a JWT, an
API token of each scope) and every target (the caller's own object, another member of their
organization's, another organization's), the test makes the real request and compares "refused" (403 or
404) with what the table and its rules say. Admins and gestores are confined to their organization, so
the third target checks confinement everywhere. The expectation is computed from the docs, never from
:mod:`django_convites.policy`, so a service that forgets to ask the policy fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import URLPattern, get_resolver
from rest_framework.test import APIClient

from django_convites.models import Invite
from tests.factories import bearer, browser_as, issue, jwt_login, make_api_token, make_user
from tests.hostapp.models import Organization

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[1] / "docs" / "roles.rst"
ROLES = ("root", "admin", "gestor", "usuario")
CREDENTIALS = ("session", "jwt", "token:read", "token:write", "token:admin")
SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class Row:
    action: str
    request: str
    reach: dict[str, str]
    scope: str
    tokens: bool


def documented_matrix() -> dict[str, Row]:
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index(".. begin-matrix-table") : text.index(".. end-matrix-table")]
    lines = [line for line in table.splitlines()[1:] if line.strip()]
    rulers = [i for i, line in enumerate(lines) if re.fullmatch(r"=+(\s+=+)+", line)]
    assert len(rulers) == 3, "the matrix is a simple table: ruler, header, ruler, rows, ruler"
    spans = [match.span() for match in re.finditer(r"=+", lines[rulers[0]])]

    def cells(line: str) -> list[str]:
        starts = [start for start, _ in spans]
        ends = [end for _, end in spans[:-1]] + [len(line)]
        return [line[start:end].strip() for start, end in zip(starts, ends, strict=True)]

    rows: dict[str, Row] = {}
    for line in lines[rulers[1] + 1 : rulers[2]]:
        action, request, *reach, scope, allowed = cells(line)
        action = action.strip("`")
        assert action not in rows, f"{action} appears twice"
        assert set(reach) <= {"all", "own", "none"} and scope in SCOPES and allowed in {"yes", "no"}, line
        rows[action] = Row(action, request, dict(zip(ROLES, reach, strict=True)), scope, allowed == "yes")
    return rows


MATRIX = documented_matrix()


def covers(scope: str, needed: str) -> bool:
    return SCOPES.index(scope) >= SCOPES.index(needed)


#: Rows whose target is where a new object goes (its organization), not someone's object.
CREATION = {"invite.create", "invite.create_admin"}


def expected(row: Row, role: str, credential: str, target: str) -> bool:
    """Whether the docs' table and rules allow the request."""
    value = row.reach[role]
    if credential.startswith("token:"):
        scope = credential.split(":")[1]
        if not row.tokens or not covers(scope, row.scope):
            return False
        if value == "all" and scope != "admin" and row.action not in CREATION:
            value = "own"  # below the admin scope, a token reaches only its owner's objects
    if value == "none":
        return False
    if row.action in CREATION:  # confinement alone: only root creates in another organization
        return target == "own" or role == "root"
    if value == "own":
        return target == "own"
    return target != "other_org" or role == "root"  # admins and gestores are confined to their organization


# -- the world: two organizations, confined admins and gestores -----------------------------------------

#: username -> organization id of the test's users; read by the two resolvers below.
MEMBERSHIP: dict[str, Any] = {}
CONFINED = {"admin", "gestor", "issuer_a", "issuer_b"}


def managed_organizations(user: Any) -> Any:
    """ORGANIZATION_RESOLVER of the test: admins and gestores manage their own organization."""
    return {MEMBERSHIP[user.get_username()]} if user.get_username() in CONFINED else None


def organization_members(organizations: frozenset[Any]) -> Any:
    """ORGANIZATION_MEMBERS_RESOLVER of the test."""
    from django.contrib.auth import get_user_model

    names = [name for name, organization in MEMBERSHIP.items() if str(organization) in {str(o) for o in organizations}]
    return get_user_model()._default_manager.filter(username__in=names)


class World:
    """The users of two organizations. Their invites and API tokens are written directly (``direct=True``):
    the fixture must not depend on the policy under test."""

    def __init__(self) -> None:
        self.org_a = Organization.objects.create(name="A")
        self.org_b = Organization.objects.create(name="B")
        MEMBERSHIP.clear()
        self.users: dict[str, Any] = {}
        for name, role, organization in [
            ("root", "root", self.org_a),
            ("admin", "admin", self.org_a),
            ("gestor", "gestor", self.org_a),
            ("usuario", "usuario", self.org_a),
            ("issuer_a", "admin", self.org_a),
            ("peer_a", "usuario", self.org_a),
            ("issuer_b", "admin", self.org_b),
            ("peer_b", "usuario", self.org_b),
        ]:
            MEMBERSHIP[name] = organization.pk
            self.users[name] = make_user(name, role=role, email=f"{name}@example.com")

    def owner(self, actor: str, target: str) -> Any:
        return {"own": self.users[actor], "other": self.users["peer_a"], "other_org": self.users["peer_b"]}[target]

    def issuer(self, actor: str, target: str) -> Any:
        return {"own": self.users[actor], "other": self.users["issuer_a"], "other_org": self.users["issuer_b"]}[target]

    def organization(self, target: str) -> Organization:
        return self.org_b if target == "other_org" else self.org_a

    def client(self, actor: str, credential: str) -> APIClient:
        """A client of ``actor`` holding ``credential``: a session, a JWT or an API token of a scope."""
        user = self.users[actor]
        if credential == "session":
            return browser_as(user, client=APIClient())
        if credential == "jwt":
            return bearer(jwt_login(user).access)
        return bearer(make_api_token(user, credential.split(":")[1], direct=True).secret)


# -- one request per row ----------------------------------------------------------------------------------

Probe = Callable[[World, APIClient, str, str], bool]
PROBES: dict[str, tuple[tuple[str, ...], Probe]] = {}
ALL_TARGETS = ("own", "other", "other_org")


def probe(action: str, targets: tuple[str, ...] = ALL_TARGETS) -> Callable[[Probe], Probe]:
    def register(func: Probe) -> Probe:
        PROBES[action] = (targets, func)
        return func

    return register


def passed(response: Any) -> bool:
    """Whether the authorization let the request through: anything but 403 and 404 (a 400 for a wrong code
    or a 409 for a cooldown means the policy said yes)."""
    assert response.status_code < 500, response.content[:300]
    return response.status_code not in (403, 404)


def listed(response: Any, object_id: Any) -> bool:
    if response.status_code in (403, 404):
        return False
    assert response.status_code == 200, response.content[:300]
    return str(object_id) in {str(row["id"]) for row in response.json()["results"]}


@probe("invite.create", ("own", "other_org"))
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    body = {"tipo_destino": "associado", "organizacao": str(world.organization(target).pk)}
    return passed(client.post("/api/tokens/", body, format="json"))


@probe("invite.create_admin", ("own", "other_org"))
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    body = {"tipo_destino": "admin", "organizacao": str(world.organization(target).pk)}
    return passed(client.post("/api/tokens/", body, format="json"))


@probe("invite.list")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    invite = issue(world.issuer(actor, target), organization=world.organization(target).pk, direct=True).invite
    return listed(client.get("/api/tokens/", {"limite": 200}), invite.pk)


@probe("invite.read")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    invite = issue(world.issuer(actor, target), organization=world.organization(target).pk, direct=True).invite
    return passed(client.get(f"/api/tokens/{invite.pk}/"))


@probe("invite.revoke")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    invite = issue(world.issuer(actor, target), organization=world.organization(target).pk, direct=True).invite
    allowed = passed(client.post(f"/api/tokens/{invite.pk}/revogar/"))
    invite.refresh_from_db()
    assert (invite.revoked_at is not None) is allowed, (
        "a refused revocation changed the invite, or an allowed one did not"
    )
    return allowed


@probe("invite.resend")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    invite = issue(world.issuer(actor, target), organization=world.organization(target).pk, direct=True).invite
    Invite.objects.filter(pk=invite.pk).update(email="convidado@example.com")
    mail.outbox.clear()
    allowed = passed(client.post(f"/api/tokens/{invite.pk}/reenviar/"))
    digest = invite.code_digest
    invite.refresh_from_db()
    assert (invite.code_digest != digest) is allowed, "a refused resend changed the code, or an allowed one did not"
    assert len(mail.outbox) == int(allowed), "a refused resend sent mail, or an allowed one did not"
    return allowed


@probe("invite.logs")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    invite = issue(world.issuer(actor, target), organization=world.organization(target).pk, direct=True).invite
    return passed(client.get(f"/api/tokens/{invite.pk}/logs/"))


@probe("invite.use", ("own",))
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    code = issue(world.users["issuer_a"], organization=world.org_a.pk, direct=True).code
    return passed(client.post(f"/api/tokens/{code}/use/", {}, format="json"))


@probe("api_token.create", ("own",))
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    return passed(client.post("/api/api-tokens/", {"scope": "write"}, format="json"))


@probe("api_token.create_adm", ("own",))
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    return passed(client.post("/api/api-tokens/", {"scope": "admin"}, format="json"))


@probe("api_token.list")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    owner = world.owner(actor, target)
    token, _ = make_api_token(owner, "write", direct=True)
    return listed(client.get("/api/api-tokens/", {"usuario": owner.pk, "limite": 200}), token.pk)


@probe("api_token.read")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    token, _ = make_api_token(world.owner(actor, target), "write", direct=True)
    return passed(client.get(f"/api/api-tokens/{token.pk}/"))


@probe("api_token.revoke")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    token, _ = make_api_token(world.owner(actor, target), "write", direct=True)
    allowed = passed(client.delete(f"/api/api-tokens/{token.pk}/"))
    token.refresh_from_db()
    assert (token.revoked_at is not None) is allowed, (
        "a refused revocation changed the token, or an allowed one did not"
    )
    return allowed


@probe("api_token.rotate")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    token, _ = make_api_token(world.owner(actor, target), "write", direct=True)
    response = client.post(f"/api/api-tokens/{token.pk}/rotacionar/")
    allowed = passed(response)
    token.refresh_from_db()
    assert (token.revoked_at is not None) is allowed, "a refused rotation changed the token, or an allowed one did not"
    if not allowed:
        assert "token" not in response.json(), "a refused rotation showed a secret"
    return allowed


@probe("api_token.logs")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    token, _ = make_api_token(world.owner(actor, target), "write", direct=True)
    return passed(client.get(f"/api/api-tokens/{token.pk}/logs/"))


@probe("audit.list")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    return passed(client.get("/api/auditoria/", {"usuario": world.owner(actor, target).pk}))


@probe("audit.access")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    owner = world.owner(actor, target)
    make_api_token(owner, "read", direct=True)
    response = client.get("/api/auditoria/acessos/", {"usuario": owner.pk})
    if passed(response):
        assert response.json()["usuario"] == owner.pk and response.json()["credenciais"], "an allowed read shows them"
        return True
    return False


@probe("session.list", ("own", "other"))
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    family = jwt_login(world.owner(actor, target)).family
    return listed(client.get("/api/auth/sessoes/", {"limite": 200}), family.pk)


@probe("session.end")
def _(world: World, client: APIClient, actor: str, target: str) -> bool:
    family = jwt_login(world.owner(actor, target)).family
    allowed = passed(client.delete(f"/api/auth/sessoes/{family.pk}/"))
    family.refresh_from_db()
    assert (family.revoked_at is not None) is allowed
    return allowed


def _own(path: str, method: str = "post", body: dict[str, Any] | None = None) -> Probe:
    def run(world: World, client: APIClient, actor: str, target: str) -> bool:
        if method == "get":
            return passed(client.get(path))
        return passed(client.post(path, body or {}, format="json"))

    return run


for _action, _path, _method, _body in [
    ("two_factor.status", "/api/2fa/", "get", None),
    ("two_factor.enrol", "/api/2fa/totp/", "post", None),
    ("two_factor.confirm", "/api/2fa/totp/confirmar/", "post", {"codigo": "000000"}),
    ("two_factor.disable", "/api/2fa/desativar/", "post", {"codigo": "000000"}),
    ("two_factor.backup", "/api/2fa/codigos-backup/", "post", {"codigo": "000000"}),
    ("code.request", "/api/codigos/", "post", None),
    ("code.validate", "/api/codigos/validar/", "post", {"codigo": "000000"}),
]:
    probe(_action, ("own",))(_own(_path, _method, _body))


# -- the tests --------------------------------------------------------------------------------------------


def test_every_documented_row_has_a_probe_and_every_probe_a_row() -> None:
    assert set(MATRIX) == set(PROBES)


#: Endpoints outside the matrix: no role decides them (logging in, refreshing with a refresh token,
#: validating a code, signing up with an invite, the index).
OPEN_ENDPOINTS = {
    "",
    "auth/token/",
    "auth/token/refresh/",
    "auth/token/revoke/",
    "tokens/validate/",
    "tokens/<>/registrar/",
}


def test_every_endpoint_of_the_api_is_in_the_matrix() -> None:
    resolver = get_resolver("django_convites.api.urls")
    routes = {str(pattern.pattern) for pattern in resolver.url_patterns if isinstance(pattern, URLPattern)}
    documented = set()
    for row in MATRIX.values():
        match = re.search(r"``(?:GET|POST|DELETE) /api/([^`?]*)", row.request)
        assert match, row.request
        documented.add(re.sub(r"<[^>]+>", "<>", match.group(1)))
    normalized = {re.sub(r"<[^>]+>", "<>", route) for route in routes}
    assert normalized - OPEN_ENDPOINTS == documented


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_matrix_cell(action: str, role: str, convites_settings: Any) -> None:
    convites_settings(
        ORGANIZATION_RESOLVER="tests.test_authorization_matrix.managed_organizations",
        ORGANIZATION_MEMBERS_RESOLVER="tests.test_authorization_matrix.organization_members",
        INVITES_PER_DAY=None,
        LOGIN_RATE=None,
        LOGIN_USERNAME_RATE=None,
        TWO_FACTOR_RATE=None,
        INVITE_RESEND_RATE=None,
    )
    world = World()
    row = MATRIX[action]
    targets, run = PROBES[action]
    wrong = []
    for credential in CREDENTIALS:
        for target in targets:
            client = world.client(role, credential)
            got = run(world, client, role, target)
            want = expected(row, role, credential, target)
            if got is not want:
                wrong.append(
                    f"{credential} on {target}: {'allowed' if got else 'refused'}, the docs say {'allowed' if want else 'refused'}"
                )
    assert wrong == [], f"{action} as {role}"


def test_the_oracle_is_not_trivial() -> None:
    """The expectations differ by role, credential and target: a matrix of all-yes could not pass."""
    outcomes = {
        expected(row, role, credential, target)
        for row in MATRIX.values()
        for role in ROLES
        for credential in CREDENTIALS
        for target in ALL_TARGETS
    }
    assert outcomes == {True, False}
    rotate = MATRIX["api_token.rotate"]
    assert not expected(rotate, "admin", "session", "other")
    assert not expected(rotate, "root", "token:admin", "other")
    assert not expected(MATRIX["two_factor.enrol"], "usuario", "token:admin", "own")
    assert not expected(MATRIX["api_token.revoke"], "admin", "session", "other_org")
    assert expected(MATRIX["api_token.revoke"], "root", "session", "other_org")
