"""Who must prove a second factor: the RequireTwoFactor permission, the middleware, and the ``amr`` claim."""

from __future__ import annotations

import base64

import jwt
import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites import checks
from django_convites.services import api_tokens, sessions, two_factor
from tests.factories import bearer_header, confirmed_totp, totp_code
from tests.invites import error_of

pytestmark = pytest.mark.django_db

APP_VIEW = "/api/tokens/"
HOST_VIEW = "/api/t/require-2fa/"
PAGE = "/site/page/"
VERIFY_PAGE = "/tokens/verificar-2fa/"
ENABLE_PAGE = "/tokens/ativar-2fa/"


# -- sessions -----------------------------------------------------------------------------------------------


def test_a_session_with_a_device_but_no_code_is_refused_by_the_api(users):
    secret = confirmed_totp(users["gestor"]).secret
    browser = Client()
    browser.force_login(users["gestor"])  # a password login, no second step yet
    for path in (APP_VIEW, HOST_VIEW, "/api/api-tokens/", "/api/auditoria/"):
        error_of(browser.get(path), 403, "two_factor_required")
    # The two-factor endpoints stay open, so the user can see and manage the second factor.
    assert browser.get("/api/2fa/").status_code == 200
    browser.post(VERIFY_PAGE, {"codigo": totp_code(secret)})
    assert browser.get(APP_VIEW).status_code == 200
    assert browser.get(HOST_VIEW).json() == {"ok": True}


def test_a_session_without_a_device_passes_unless_its_role_is_required(users, convites_settings):
    browser = Client()
    browser.force_login(users["gestor"])
    assert browser.get(HOST_VIEW).status_code == 200
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["root", "admin"])
    assert browser.get(HOST_VIEW).status_code == 200
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["gestor"])
    error_of(browser.get(HOST_VIEW), 403, "two_factor_required")
    assert browser.post("/api/2fa/totp/").status_code == 201  # enrolling stays open


def test_the_middleware_sends_an_unverified_session_to_the_verify_page(users):
    secret = confirmed_totp(users["usuario"]).secret
    browser = Client()
    browser.force_login(users["usuario"])
    response = browser.get(PAGE + "?x=1")
    assert response.status_code == 302
    assert response["Location"] == VERIFY_PAGE + "?next=%2Fsite%2Fpage%2F%3Fx%3D1"
    # The verify page itself, logout, exempt views and the API are not redirected.
    assert browser.get(VERIFY_PAGE).status_code == 200
    assert browser.get("/site/help/").status_code == 200
    assert browser.get("/site/sair/").status_code == 200
    assert browser.get(APP_VIEW).status_code == 403
    done = browser.post(VERIFY_PAGE, {"codigo": totp_code(secret), "next": PAGE})
    assert done["Location"] == PAGE
    assert browser.get(PAGE).content == b"pagina"


def test_the_middleware_sends_a_required_role_without_a_device_to_enrol(users, convites_settings):
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["admin"])
    browser = Client()
    browser.force_login(users["admin"])
    response = browser.get(PAGE)
    assert response.status_code == 302 and response["Location"] == ENABLE_PAGE + "?next=%2Fsite%2Fpage%2F"
    started = browser.post(response["Location"], {"iniciar": "1"})  # the page's Start button
    assert started.status_code == 302 and started["Location"] == response["Location"]
    page = browser.get(started["Location"])
    secret = page.content.decode().split('class="convites-secret">')[1].split("<")[0]
    confirmed = browser.post(response["Location"], {"codigo": totp_code(secret)})
    # The answer shows the backup codes, once, and links on to where the user was going.
    assert confirmed.status_code == 200
    assert 'class="convites-button" href="/site/page/"' in confirmed.content.decode()
    assert browser.get(PAGE).status_code == 200  # enrolling verified this session
    other = Client()
    other.force_login(users["usuario"])
    assert other.get(PAGE).status_code == 200


def test_anonymous_users_are_left_to_the_login_machinery(users):
    assert Client().get(PAGE).status_code == 200
    assert Client().get(HOST_VIEW).status_code == 401


# -- JWT and API tokens -------------------------------------------------------------------------------------


def test_a_jwt_says_whether_the_login_proved_a_second_factor(users, api_client, convites_settings):
    plain = sessions.login(username="admin", password="x")
    claims = jwt.decode(plain.access, options={"verify_signature": False})
    assert claims["amr"] == ["pwd"]
    assert api_client.get(HOST_VIEW, **bearer_header(plain.access)).status_code == 200
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["admin"])
    error_of(api_client.get(HOST_VIEW, **bearer_header(plain.access)), 403, "two_factor_required")
    secret = confirmed_totp(users["admin"]).secret
    proved = sessions.login(username="admin", password="x", otp=totp_code(secret))
    assert jwt.decode(proved.access, options={"verify_signature": False})["amr"] == ["pwd", "otp"]
    assert api_client.get(HOST_VIEW, **bearer_header(proved.access)).status_code == 200
    # Refreshing keeps what the login proved.
    renewed = sessions.refresh(proved.refresh)
    assert jwt.decode(renewed.access, options={"verify_signature": False})["amr"] == ["pwd", "otp"]
    assert api_client.get(HOST_VIEW, **bearer_header(renewed.access)).status_code == 200


def test_a_jwt_without_a_required_second_factor_costs_no_extra_query(users, api_client, assert_queries):
    access = sessions.login(username="gestor", password="x").access
    with assert_queries(1):  # the user and the live session, in one statement
        assert api_client.get(HOST_VIEW, **bearer_header(access)).status_code == 200


def test_an_api_token_passes(users, api_client, convites_settings):
    convites_settings(TWO_FACTOR_REQUIRED_ROLES=["admin"])
    issued = api_tokens.create_api_token(user=users["admin"], name="ci", scope="write")
    assert api_client.get(HOST_VIEW, **bearer_header(issued.secret)).status_code == 200


# -- checks -------------------------------------------------------------------------------------------------


def test_the_middleware_before_django_otps_warns(settings):
    ids = [m.id for m in checks.check_middleware()]
    assert ids == []
    settings.MIDDLEWARE = [
        checks.TWO_FACTOR_MIDDLEWARE,
        *[m for m in settings.MIDDLEWARE if m != checks.TWO_FACTOR_MIDDLEWARE],
    ]
    assert [m.id for m in checks.check_middleware()] == ["django_convites.W002"]


@pytest.mark.parametrize("value", ["admin", ["chefe"], None, {"admin": True}])
def test_required_roles_must_be_role_names(value):
    from django_convites.conf import VALIDATORS

    check_id, validate = VALIDATORS["TWO_FACTOR_REQUIRED_ROLES"]
    assert check_id == "django_convites.E033"
    assert validate(value) is not None
    assert validate(["root", "admin"]) is None and validate([]) is None


def test_turning_two_factor_on_ends_the_other_jwt_sessions_opened_without_it(users, api_client):
    from django_convites.models import SessionFamily

    before = sessions.login(username="gestor", password="x")
    confirming = sessions.login(username="gestor", password="x")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {confirming.access}")
    secret = api_client.post("/api/2fa/totp/").json()["segredo"]
    assert api_client.post("/api/2fa/totp/confirmar/", {"codigo": totp_code(secret)}, format="json").status_code == 200
    error_of(Client().get(APP_VIEW, **bearer_header(before.access)), 401, "token_revoked")
    assert SessionFamily.objects.get(pk=before.family.pk).revoked_reason == "2fa_ativado"
    with pytest.raises(Exception) as refused:
        sessions.refresh(before.refresh)
    assert getattr(refused.value, "code", None) == "token_revoked"
    # The session that confirmed the device goes on (tests/test_security_two_factor_enable.py).
    assert api_client.get(APP_VIEW).status_code == 200


def test_a_leftover_unconfirmed_device_cannot_become_a_second_device(users):
    from django_convites.exceptions import TwoFactorActive

    confirmed_totp(users["usuario"])
    spare = TOTPDevice.objects.create(user=users["usuario"], confirmed=False)
    secret = base64.b32encode(spare.bin_key).decode().rstrip("=")
    with pytest.raises(TwoFactorActive):
        two_factor.confirm_totp(users["usuario"], totp_code(secret))
    assert TOTPDevice.objects.filter(user=users["usuario"], confirmed=True).count() == 1
    assert two_factor.pending_enrolment(users["usuario"]) is None  # its secret is not shown again


def test_the_html_code_pages_share_the_per_user_throttle(users, convites_settings):
    convites_settings(TWO_FACTOR_RATE="2/minute")
    confirmed_totp(users["usuario"])
    browser = Client()
    browser.force_login(users["usuario"])
    assert [browser.post(VERIFY_PAGE, {"codigo": "000000"}).status_code for _ in range(2)] in ([400, 400], [302, 400])
    assert browser.post(VERIFY_PAGE, {"codigo": "000000"}).status_code == 429
    assert browser.post("/tokens/desativar-2fa/", {"codigo": "000000"}).status_code == 429


def test_the_sites_own_drf_views_refuse_an_unverified_session_in_json(users):
    confirmed_totp(users["usuario"])
    browser = Client()
    browser.force_login(users["usuario"])
    error_of(browser.get("/api/t/whoami/"), 403, "two_factor_required")  # no RequireTwoFactor on this view
