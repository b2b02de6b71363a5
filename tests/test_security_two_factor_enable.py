"""Issue 11, finding 7 and two smaller items: what turning two-factor authentication on ends, one definition
of "has a second factor", and an enable page whose reloads change nothing.

Turning it on ends everything opened with a password alone (every other JWT session and, unless the user
keeps them, every API token), while the session that confirmed the device goes on, verified; one
``2fa_ativado`` event carries the counts.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import subprocess
import sys

import jwt
import pytest
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites.models import ApiToken, AuditEvent, SessionFamily
from django_convites.services import api_tokens, sessions, two_factor
from tests.factories import bearer_header, browser_as, jwt_login, make_backup_codes, totp_code
from tests.invites import error_of

pytestmark = pytest.mark.django_db

STATUS = "/api/2fa/"
ENROL = "/api/2fa/totp/"
CONFIRM = "/api/2fa/totp/confirmar/"
APP_VIEW = "/api/tokens/"
HOST_VIEW = "/api/t/require-2fa/"
PAGE = "/site/page/"
ENABLE_PAGE = "/tokens/ativar-2fa/"


def live_tokens(user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()))


def new_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since).order_by("pk"))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def secret_on(html: str) -> str:
    found = re.search(r'<code class="convites-secret">([A-Z2-7]+)</code>', html)
    assert found, html
    return found.group(1)


@pytest.fixture
def tokens_of_gestor(users):
    """Two live API tokens of ``gestor``, one revoked and one expired (those two end nothing more)."""
    user = users["gestor"]
    live = [api_tokens.create_api_token(user=user, name=f"ci{n}", scope="write") for n in range(2)]
    revoked = api_tokens.create_api_token(user=user, name="old", scope="read")
    api_tokens.revoke_api_token(revoked.token.pk, actor=user)
    expired = api_tokens.create_api_token(user=user, name="expired", scope="read")
    past = timezone.now() - datetime.timedelta(days=1)
    ApiToken.objects.filter(pk=expired.token.pk).update(created_at=past - datetime.timedelta(days=1), expires_at=past)
    return live


# -- through a JWT --------------------------------------------------------------------------------------------


def test_confirming_through_a_jwt_ends_every_other_session_and_keeps_its_own(users, api_client):
    mine, other, third = jwt_login("gestor"), jwt_login("gestor"), jwt_login("gestor")
    sessions.logout(jwt_login("gestor").refresh)  # ended already: not counted again
    api_client.credentials(**bearer_header(mine.access))
    secret = api_client.post(ENROL).json()["segredo"]
    response = api_client.post(CONFIRM, {"codigo": totp_code(secret)}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ativo"] is True
    assert (body["sessoes_encerradas"], body["api_tokens_revogados"]) == (2, 0)
    for ended in (other, third):
        error_of(Client().get(APP_VIEW, **bearer_header(ended.access)), 401, "token_revoked")
        assert SessionFamily.objects.get(pk=ended.family.pk).revoked_reason == "2fa_ativado"
    # The confirming session goes on, now as one that proved the second factor.
    assert api_client.get(APP_VIEW, **bearer_header(mine.access)).status_code == 200
    family = SessionFamily.objects.get(pk=mine.family.pk)
    assert family.revoked_at is None and family.two_factor is True
    renewed = sessions.refresh(mine.refresh)
    assert jwt.decode(renewed.access, options={"verify_signature": False})["amr"] == ["pwd", "otp"]


def test_the_confirming_jwt_counts_as_verified_at_once(users, api_client, convites_settings):
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["gestor"])
    mine = jwt_login("gestor")
    api_client.credentials(**bearer_header(mine.access))
    error_of(api_client.get(HOST_VIEW), 403, "two_factor_required")  # must enrol first
    secret = api_client.post(ENROL).json()["segredo"]
    assert api_client.post(CONFIRM, {"codigo": totp_code(secret)}, format="json").status_code == 200
    # Its access token was signed with ``amr: ["pwd"]``; the session row now says the second factor was proved.
    assert jwt.decode(mine.access, options={"verify_signature": False})["amr"] == ["pwd"]
    assert api_client.get(HOST_VIEW).json() == {"ok": True}
    assert api_client.get(APP_VIEW).status_code == 200


def test_api_tokens_are_revoked_unless_the_user_keeps_them(users, api_client, tokens_of_gestor):
    api_client.credentials(**bearer_header(jwt_login("gestor").access))
    secret = api_client.post(ENROL).json()["segredo"]
    body = api_client.post(CONFIRM, {"codigo": totp_code(secret)}, format="json").json()
    assert (body["sessoes_encerradas"], body["api_tokens_revogados"]) == (0, 2)
    assert live_tokens(users["gestor"]) == []
    for created in tokens_of_gestor:
        row = ApiToken.objects.get(pk=created.token.pk)
        assert row.revoked_at is not None and row.revoked_by == users["gestor"]
        error_of(Client().get(APP_VIEW, **bearer_header(created.secret)), 401, "token_revoked")


def test_manter_api_tokens_keeps_them_and_still_ends_the_other_sessions(users, api_client, tokens_of_gestor):
    other = jwt_login("gestor")
    api_client.credentials(**bearer_header(jwt_login("gestor").access))
    secret = api_client.post(ENROL).json()["segredo"]
    body = api_client.post(CONFIRM, {"codigo": totp_code(secret), "manter_api_tokens": True}, format="json").json()
    assert (body["sessoes_encerradas"], body["api_tokens_revogados"]) == (1, 0)
    assert len(live_tokens(users["gestor"])) == 2
    for created in tokens_of_gestor:
        assert Client().get(APP_VIEW, **bearer_header(created.secret)).status_code == 200
    error_of(Client().get(APP_VIEW, **bearer_header(other.access)), 401, "token_revoked")


def test_enabling_writes_one_event_with_the_counts(users, api_client, tokens_of_gestor):
    jwt_login("gestor"), jwt_login("gestor")
    api_client.credentials(**bearer_header(jwt_login("gestor").access))
    secret = api_client.post(ENROL).json()["segredo"]
    before = last_event_id()
    assert api_client.post(CONFIRM, {"codigo": totp_code(secret)}, format="json").status_code == 200
    written = new_events(before)
    assert [event.event for event in written] == ["2fa_ativado"]
    assert written[0].actor == users["gestor"]
    assert written[0].details == {"sessoes_encerradas": 2, "api_tokens_revogados": 2, "api_tokens_mantidos": False}


def test_a_site_receiver_ends_its_own_credentials_and_its_count_joins_the_event(users, api_client):
    """``two_factor_enabling`` is how the app's sessions and API tokens end (no import between the
    services), and how a site ends credentials of its own: its count lands in the one event."""
    from django_convites import signals

    calls = []

    def end_site_credentials(sender, *, user, keep_session, keep_api_tokens, **kwargs):
        calls.append((user, keep_session, keep_api_tokens))
        return {"credenciais_do_site": 3}

    signals.two_factor_enabling.connect(end_site_credentials, dispatch_uid="tests.site_credentials")
    try:
        mine = jwt_login("gestor")
        api_client.credentials(**bearer_header(mine.access))
        secret = api_client.post(ENROL).json()["segredo"]
        before = last_event_id()
        assert api_client.post(CONFIRM, {"codigo": totp_code(secret)}, format="json").status_code == 200
    finally:
        signals.two_factor_enabling.disconnect(dispatch_uid="tests.site_credentials")
    assert calls == [(users["gestor"], mine.family.pk, False)]
    (event,) = new_events(before)
    assert event.details == {
        "sessoes_encerradas": 0,
        "api_tokens_revogados": 0,
        "api_tokens_mantidos": False,
        "credenciais_do_site": 3,
    }


def test_a_failing_site_receiver_leaves_two_factor_off_and_everything_open(users, api_client, tokens_of_gestor):
    from django_convites import signals

    def refuse(sender, **kwargs):
        raise RuntimeError("the site's store is down")

    other = jwt_login("gestor")
    api_client.credentials(**bearer_header(jwt_login("gestor").access))
    secret = api_client.post(ENROL).json()["segredo"]
    before = last_event_id()
    signals.two_factor_enabling.connect(refuse, dispatch_uid="tests.refuse")
    try:
        with pytest.raises(RuntimeError):
            two_factor.confirm_totp(users["gestor"], totp_code(secret))
    finally:
        signals.two_factor_enabling.disconnect(dispatch_uid="tests.refuse")
    assert not two_factor.is_active(users["gestor"])
    assert len(live_tokens(users["gestor"])) == 2
    assert Client().get(APP_VIEW, **bearer_header(other.access)).status_code == 200
    assert [event.event for event in new_events(before)] == []


@pytest.mark.parametrize("value", ["true", 1, 0, None, [], {}, "sim"])
def test_a_manter_api_tokens_that_is_not_a_boolean_is_400_and_changes_nothing(
    users, api_client, tokens_of_gestor, value
):
    other = jwt_login("gestor")
    api_client.credentials(**bearer_header(jwt_login("gestor").access))
    secret = api_client.post(ENROL).json()["segredo"]
    before = last_event_id()
    code = totp_code(secret)
    body = error_of(
        api_client.post(CONFIRM, {"codigo": code, "manter_api_tokens": value}, format="json"), 400, "invalid"
    )
    assert "manter_api_tokens" in body.get("errors", body)
    assert new_events(before) == []
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert len(live_tokens(users["gestor"])) == 2
    assert SessionFamily.objects.get(pk=other.family.pk).revoked_at is None
    # The code was not spent either: it still confirms.
    assert api_client.post(CONFIRM, {"codigo": code, "manter_api_tokens": False}, format="json").status_code == 200


#: The OpenAPI schema of the app's API, made by drf-spectacular in a process of its own: its decorators pick
#: their schema class at import, so it must be set before any view is imported.
SCHEMA_SCRIPT = """
import json, django
from tests import settings
settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
django.setup()
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
patterns = [path("api/", include("django_convites.api.urls"))]
print(json.dumps(SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)))
"""


def test_the_openapi_schema_documents_the_choice_and_the_counts():
    pytest.importorskip("drf_spectacular")
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", SCHEMA_SCRIPT], capture_output=True, text=True, env=environment, check=True
    )
    schema = json.loads(done.stdout)
    operation = schema["paths"][CONFIRM]["post"]
    request = _resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert request["properties"]["manter_api_tokens"]["type"] == "boolean"
    assert "manter_api_tokens" not in request.get("required", [])
    answer = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"sessoes_encerradas", "api_tokens_revogados"} <= set(answer["properties"])
    assert "API token" in operation.get("description", "")


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


# -- through a Django session --------------------------------------------------------------------------------


def test_confirming_through_a_session_verifies_it_and_ends_every_jwt_session(users, tokens_of_gestor):
    jwts = [jwt_login("gestor"), jwt_login("gestor")]
    browser = Client()
    browser.force_login(users["gestor"])
    secret = browser.post(ENROL).json()["segredo"]
    body = browser.post(CONFIRM, {"codigo": totp_code(secret)}, content_type="application/json").json()
    assert (body["sessoes_encerradas"], body["api_tokens_revogados"]) == (2, 2)
    for ended in jwts:
        assert SessionFamily.objects.get(pk=ended.family.pk).revoked_reason == "2fa_ativado"
    # The session is logged in with the device (django_otp.login), so it is verified.
    assert browser.session[DEVICE_ID_SESSION_KEY] == TOTPDevice.objects.get(confirmed=True).persistent_id
    assert browser.get(HOST_VIEW).json() == {"ok": True}
    assert browser.get(PAGE).status_code == 200
    # Another browser logged in with the password alone must now pass the second step.
    other = Client()
    other.force_login(users["gestor"])
    error_of(other.get(HOST_VIEW), 403, "two_factor_required")


# -- the HTML page -------------------------------------------------------------------------------------------


@pytest.fixture
def browser(users):
    return browser_as(users["gestor"])


def test_the_first_get_prepares_one_device_and_later_gets_change_nothing(browser, users):
    page = browser.get(ENABLE_PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html  # the page shows a QR code and the secret (docs/two-factor.rst)
    first = secret_on(html)
    device = TOTPDevice.objects.get(confirmed=False)
    before = last_event_id()
    for _ in range(3):
        assert secret_on(browser.get(ENABLE_PAGE).content.decode()) == first
    assert list(TOTPDevice.objects.values_list("pk", flat=True)) == [device.pk]
    assert new_events(before) == []


def test_the_start_button_makes_one_seed_and_reloads_show_the_same_one(browser, users):
    started = browser.post(ENABLE_PAGE, {"iniciar": "1", "next": "/site/page/"})
    assert started.status_code == 302 and started["Location"] == f"{ENABLE_PAGE}?next=%2Fsite%2Fpage%2F"
    assert TOTPDevice.objects.filter(confirmed=False).count() == 1
    before = last_event_id()
    first, second = (secret_on(browser.get(ENABLE_PAGE).content.decode()) for _ in range(2))
    assert first == second
    device = TOTPDevice.objects.get()
    assert base64.b32encode(device.bin_key).decode().rstrip("=") == first
    assert new_events(before) == []


def test_a_get_keeps_the_pending_enrolment_of_the_api(browser, users):
    secret = browser.post(ENROL).json()["segredo"]
    assert secret_on(browser.get(ENABLE_PAGE).content.decode()) == secret
    assert TOTPDevice.objects.count() == 1


def test_the_enable_page_says_what_ends_before_confirming(browser, users, tokens_of_gestor):
    jwt_login("gestor"), jwt_login("gestor")
    browser.post(ENABLE_PAGE, {"iniciar": "1"})
    html = browser.get(ENABLE_PAGE).content.decode()
    checkbox = re.search(r"<input[^>]*name=\"manter_api_tokens\"[^>]*>", html)
    assert checkbox and 'type="checkbox"' in checkbox.group(0) and "checked" not in checkbox.group(0)
    notice = re.search(r'<p class="convites-2fa-ends">(.*?)</p>', html, re.S)
    assert notice, html
    assert "2 other sessions" in notice.group(1) and "2 API tokens" in notice.group(1)


def test_the_enable_page_revokes_the_api_tokens_unless_the_box_is_ticked(browser, users, tokens_of_gestor):
    jwt_login("gestor")
    browser.post(ENABLE_PAGE, {"iniciar": "1"})
    secret = secret_on(browser.get(ENABLE_PAGE).content.decode())
    done = browser.post(ENABLE_PAGE, {"codigo": totp_code(secret)})
    assert done.status_code == 200, done.content
    html = done.content.decode()
    assert "convites-2fa-enabled" in html
    assert re.search(r'class="convites-2fa-ended"[^>]*>[^<]*1 other session[^<]*2 API tokens', html), html
    assert live_tokens(users["gestor"]) == []
    assert browser.session[DEVICE_ID_SESSION_KEY] == TOTPDevice.objects.get().persistent_id
    assert [e.details for e in AuditEvent.objects.filter(event="2fa_ativado")] == [
        {"sessoes_encerradas": 1, "api_tokens_revogados": 2, "api_tokens_mantidos": False}
    ]


def test_the_enable_page_keeps_the_api_tokens_when_the_box_is_ticked(browser, users, tokens_of_gestor):
    browser.post(ENABLE_PAGE, {"iniciar": "1"})
    secret = secret_on(browser.get(ENABLE_PAGE).content.decode())
    done = browser.post(ENABLE_PAGE, {"codigo": totp_code(secret), "manter_api_tokens": "on"})
    assert "convites-2fa-enabled" in done.content.decode()
    assert len(live_tokens(users["gestor"])) == 2
    assert AuditEvent.objects.get(event="2fa_ativado").details["api_tokens_mantidos"] is True


# -- one definition of "has a second factor" ---------------------------------------------------------------


@pytest.fixture
def static_only(users):
    """``usuario`` with a confirmed django-otp StaticDevice and nothing else: no device the app verifies."""
    device = StaticDevice.objects.create(user=users["usuario"], name="papel", confirmed=True)
    StaticToken.objects.create(device=device, token="abcdefgh")
    two_factor.forget_device(users["usuario"])
    return users["usuario"]


def test_a_user_whose_only_device_is_a_static_one_is_not_locked_out(static_only, api_client):
    assert not two_factor.has_device(static_only)
    pair = sessions.login(username="usuario", password="x")
    assert pair.family.two_factor is False
    assert (
        api_client.post("/api/auth/token/", {"username": "usuario", "password": "x"}, format="json").status_code == 200
    )
    assert api_client.get(HOST_VIEW, **bearer_header(pair.access)).json() == {"ok": True}
    browser = Client()
    browser.force_login(static_only)
    assert browser.get(PAGE).status_code == 200  # not sent to /tokens/verificar-2fa/
    assert browser.get(HOST_VIEW).json() == {"ok": True}
    assert browser.get(STATUS).json()["ativo"] is False


def test_a_static_device_does_not_stand_in_for_a_required_second_factor(static_only, convites_settings):
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["usuario"])
    browser = Client()
    browser.force_login(static_only)
    response = browser.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(ENABLE_PAGE)  # enrol, not verify
    assert two_factor.requirement(static_only, verified=False) == two_factor.ENROL


def test_backup_codes_alone_are_no_second_factor(users):
    make_backup_codes(users["usuario"])  # left behind when an admin deleted the TOTP device
    two_factor.forget_device(users["usuario"])
    assert not two_factor.has_device(users["usuario"]) and not two_factor.is_active(users["usuario"])
    assert sessions.login(username="usuario", password="x").family.two_factor is False
    totp = TOTPDevice.objects.create(user=users["usuario"], confirmed=True)
    two_factor.forget_device(users["usuario"])
    assert two_factor.has_device(users["usuario"]) and totp.pk


def test_the_status_answers_ativo_by_the_same_definition(static_only, api_client):
    api_client.force_authenticate(static_only)
    assert api_client.get(STATUS).json()["ativo"] is False
    TOTPDevice.objects.create(user=static_only, confirmed=True)
    two_factor.forget_device(static_only)  # force_authenticate hands the view this same object
    assert api_client.get(STATUS).json()["ativo"] is True
