"""Issue 11, findings 11, 12 and the surrogate part of 17: hostile cursors and ``?usuario=`` values, the
browsable API on every route, and lone surrogates in JSON bodies. None of them may be a 500."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.test import Client

from django_convites.models import ApiToken, AuditEvent, SessionFamily
from django_convites.services import api_tokens, sessions
from tests.factories import browser_as, issue

LISTS = ["/api/tokens/", "/api/api-tokens/", "/api/auth/sessoes/", "/api/auditoria/"]

# Positions a client can put in a well-formed cursor: not a value of the ordering field, past 64 bits,
# a date that leaves the calendar when turned into UTC, a NUL.
BAD_POSITIONS = [
    "abc",
    "99999999999999999999",
    "-99999999999999999999",
    "1e5",
    "\x00",
    "9999-12-31 23:59:59-05:00",
    "0001-01-01 00:00:00+05:00",
    "2020-13-01 00:00:00+00:00",
    "nan",
    "1.5",
]


def cursor(position: str) -> str:
    return base64.b64encode(urlencode({"o": "0", "r": "0", "p": position}).encode()).decode()


@pytest.fixture
def root_client(users):
    return browser_as(users["root"], raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("position", BAD_POSITIONS)
def test_a_tampered_cursor_position_is_a_404(root_client, users, url, position):
    issue(users["root"])
    response = root_client.get(url, {"cursor": cursor(position)})
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_a_cursor_that_is_not_base64_is_a_404(root_client, url):
    response = root_client.get(url, {"cursor": "%%%not-a-cursor"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_a_genuine_cursor_still_pages(root_client, users):
    for n in range(3):
        api_tokens.create_api_token(user=users["root"], name=f"t{n}", scope="read")
    first = root_client.get("/api/api-tokens/", {"limite": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = root_client.get(first["next"]).json()
    assert len(second["results"]) == 1
    seen = {row["id"] for row in first["results"] + second["results"]}
    assert seen == {str(pk) for pk in ApiToken.objects.values_list("pk", flat=True)}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/api-tokens/", "/api/auditoria/", "/api/auditoria/acessos/"])
@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "0", "abc", "\x00", "1.0"])
def test_an_out_of_range_user_filter_is_a_400(root_client, url, value):
    response = root_client.get(url, {"usuario": value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert len(body["usuario"]) == 1


@pytest.mark.django_db
def test_a_valid_user_filter_still_filters(root_client, users):
    api_tokens.create_api_token(user=users["usuario"], name="theirs", scope="read")
    api_tokens.create_api_token(user=users["root"], name="mine", scope="read")
    response = root_client.get("/api/api-tokens/", {"usuario": users["usuario"].pk})
    assert response.status_code == 200
    assert [row["nome"] for row in response.json()["results"]] == ["theirs"]


@pytest.mark.django_db
def test_the_browsable_api_renders_every_route(root_client, users):
    root = users["root"]
    invite = issue(root).invite
    token = api_tokens.create_api_token(user=root, scope="read").token
    sessions.login(username="root", password="x")
    family = SessionFamily.objects.get()
    urls = [
        "/api/",
        "/api/auditoria/",
        "/api/auditoria/acessos/",
        "/api/auth/sessoes/",
        f"/api/auth/sessoes/{family.pk}/",
        "/api/2fa/",
        "/api/2fa/totp/",
        "/api/2fa/totp/confirmar/",
        "/api/2fa/desativar/",
        "/api/2fa/codigos-backup/",
        "/api/codigos/",
        "/api/codigos/validar/",
        "/api/api-tokens/",
        f"/api/api-tokens/{token.pk}/",
        f"/api/api-tokens/{token.pk}/rotacionar/",
        f"/api/api-tokens/{token.pk}/logs/",
        "/api/tokens/",
        "/api/tokens/validate/",
        f"/api/tokens/{invite.pk}/",
        f"/api/tokens/{invite.pk}/use/",
        f"/api/tokens/{invite.pk}/revogar/",
        f"/api/tokens/{invite.pk}/logs/",
        "/api/auth/token/",
        "/api/auth/token/refresh/",
        "/api/auth/token/revoke/",
    ]
    events = AuditEvent.objects.count()
    broken = []
    for url in urls:
        for method in ("get", "options"):
            response = getattr(root_client, method)(url, HTTP_ACCEPT="text/html")
            if response.status_code >= 500:
                broken.append((method, url, response.status_code))
    assert not broken
    # The lists render as HTML pages, with their rows.
    page = root_client.get("/api/api-tokens/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert str(token.pk) in page.content.decode()
    # Rendering the pages changed nothing (GET never writes; a browsable form is no request).
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert AuditEvent.objects.count() == events


SURROGATE_BODIES = [
    ("/api/auth/token/", '{"username": "\\ud800", "password": "x"}', False),
    ("/api/auth/token/", '{"username": "root", "password": "x", "\\udfff": 1}', False),
    ("/api/tokens/validate/", '{"codigo": "\\ud800abc"}', False),
    ("/api/api-tokens/", '{"nome": ["a", {"b": "\\udbff"}], "scope": "read"}', True),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "body", "logged_in"), SURROGATE_BODIES)
def test_a_lone_surrogate_in_json_is_a_400(users, url, body, logged_in):
    client = Client(raise_request_exception=False)
    if logged_in:
        client.force_login(users["root"])
    events = AuditEvent.objects.count()
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "parse_error"
    assert AuditEvent.objects.count() == events
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_surrogate_pair_is_an_ordinary_character(users):
    client = Client()
    client.force_login(users["root"])
    response = client.post(
        "/api/api-tokens/",
        '{"nome": "ci \\ud83d\\ude00", "scope": "read"}',
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert ApiToken.objects.get().name == "ci \U0001f600"
