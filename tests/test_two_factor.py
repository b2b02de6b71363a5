"""Contract section 7, TOTP part: enrolment, confirmation, replay, disabling, and the RFC 6238 vectors."""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites.exceptions import OtpRequired
from django_convites.services import sessions, two_factor
from tests.factories import api_as, browser_as, confirmed_totp, events, totp_code
from tests.invites import error_of

pytestmark = pytest.mark.django_db

STATUS = "/api/2fa/"
ENROL = "/api/2fa/totp/"
CONFIRM = "/api/2fa/totp/confirmar/"
DISABLE = "/api/2fa/desativar/"


def _at(key: bytes, at: float, step: int) -> int:
    from django_otp.oath import TOTP

    generator = TOTP(key, step, 0, 6, 0)
    generator.time = at
    return generator.token()


@pytest.fixture
def client(api_client, users):
    return api_as(users["usuario"], client=api_client)


def test_enrolment_shows_the_secret_and_a_qr_code_once(client, users):
    assert client.get(STATUS).json() == {"ativo": False, "dispositivos": [], "codigos_backup_restantes": 0}
    response = client.post(ENROL)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"id", "otpauth_url", "qr_svg", "segredo"}
    assert re.fullmatch(r"[A-Z2-7]{32}", data["segredo"])
    url = urlparse(data["otpauth_url"])
    assert (url.scheme, url.netloc) == ("otpauth", "totp")
    assert parse_qs(url.query)["secret"] == [data["segredo"]]
    assert data["qr_svg"].startswith("<svg") and "</svg>" in data["qr_svg"]
    assert response["Cache-Control"] == "no-store"
    device = TOTPDevice.objects.get()
    assert not device.confirmed
    assert client.get(STATUS).json()["ativo"] is False
    assert events("2fa_iniciado")[0].actor == users["usuario"]


def test_a_current_code_confirms_the_device(client, users):
    secret = client.post(ENROL).json()["segredo"]
    response = client.post(CONFIRM, {"codigo": totp_code(secret)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["ativo"] is True
    assert TOTPDevice.objects.get().confirmed
    assert len(events("2fa_ativado")) == 1
    error_of(client.post(ENROL), 409, "two_factor_active")


@pytest.mark.parametrize("code", ["000000x", "１２３４５６", "+12345", "12_345", "12345", ""])
def test_wrong_or_malformed_codes_are_400(client, code):
    client.post(ENROL)
    response = client.post(CONFIRM, {"codigo": code}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"otp_invalid", "invalid"}
    assert not TOTPDevice.objects.get().confirmed


def test_a_wrong_code_is_audited(client):
    secret = client.post(ENROL).json()["segredo"]
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    error_of(client.post(CONFIRM, {"codigo": wrong}, format="json"), 400, "otp_invalid")
    assert events("2fa_falhou")[0].details == {"acao": "confirmar"}


def test_a_code_is_accepted_once(client, users):
    secret = client.post(ENROL).json()["segredo"]
    code = totp_code(secret)
    assert client.post(CONFIRM, {"codigo": code}, format="json").status_code == 200
    # The same code cannot turn 2FA off, nor log in twice.
    error_of(client.post(DISABLE, {"codigo": code}, format="json"), 400, "otp_invalid")
    assert TOTPDevice.objects.filter(confirmed=True).exists()


def test_disabling_needs_a_current_code(client, users):
    secret = client.post(ENROL).json()["segredo"]
    now = time.time()
    client.post(CONFIRM, {"codigo": totp_code(secret, now - 30)}, format="json")
    error_of(client.post(DISABLE, {"codigo": "abc"}, format="json"), 400, "otp_invalid")
    error_of(client.post(DISABLE, {}, format="json"), 400, "invalid")
    assert client.post(DISABLE, {"codigo": totp_code(secret, now)}, format="json").json()["ativo"] is False
    assert not TOTPDevice.objects.exists()
    assert len(events("2fa_desativado")) == 1


def test_login_asks_for_the_code_once_two_factor_is_on(client, users, api_client):
    secret = client.post(ENROL).json()["segredo"]
    now = time.time()
    client.post(CONFIRM, {"codigo": totp_code(secret, now - 30)}, format="json")
    with pytest.raises(OtpRequired):
        sessions.login(username="usuario", password="x")
    assert sessions.login(username="usuario", password="x", otp=totp_code(secret, now)).access


def test_confirmation_is_throttled_per_user(client, convites_settings):
    convites_settings(TWO_FACTOR_RATE="2/minute")
    client.post(ENROL)
    for _ in range(2):
        assert client.post(CONFIRM, {"codigo": "000001"}, format="json").status_code == 400
    error_of(client.post(CONFIRM, {"codigo": "000001"}, format="json"), 429, "throttled")


def test_the_api_needs_a_login(api_client):
    for path in (STATUS, ENROL, CONFIRM, DISABLE):
        response = api_client.post(path) if path != STATUS else api_client.get(path)
        assert response.status_code == 401


# -- RFC 6238 appendix B, through our verification path ---------------------------------------------------

RFC_SECRET = b"12345678901234567890"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_rfc_6238_vectors_pass_through_the_verification_path(users, at, expected):
    # Our codes are six digits: the RFC's eight-digit values reduced modulo 10**6 are the six-digit codes.
    six = TOTPDevice.objects.create(user=users["gestor"], key=RFC_SECRET.hex(), digits=6, tolerance=0, confirmed=True)
    assert _at(RFC_SECRET, at, 30) == int(expected) % 10**6
    assert two_factor.matching_step(six, expected[-6:], now=at) == int(at // 30)
    assert two_factor.verify(six, expected[-6:], now=at)
    assert not two_factor.verify(six, expected[-6:], now=at)  # replay at the same step


@pytest.mark.parallel_db
def test_parallel_submissions_of_one_code_let_one_through(users):
    from collections import Counter

    from tests.parallel import THREADS, race

    device = confirmed_totp(users["usuario"]).device
    code = totp_code(device)

    def work(index: int) -> None:
        fresh = TOTPDevice.objects.get(pk=device.pk)
        if not two_factor.verify(fresh, code):
            raise two_factor.OtpInvalid(status=400)

    outcomes = race(work)
    assert outcomes == Counter({"ok": 1, "otp_invalid": THREADS - 1})


# -- HTML pages -------------------------------------------------------------------------------------------

ENABLE_PAGE = "/tokens/ativar-2fa/"
DISABLE_PAGE = "/tokens/desativar-2fa/"
VERIFY_PAGE = "/tokens/verificar-2fa/"


def secret_on(page) -> str:
    return re.search(r'class="convites-secret">([A-Z2-7]+)<', page.content.decode()).group(1)


@pytest.fixture
def browser(users):
    return browser_as(users["usuario"])


def test_the_pages_need_a_login(users):
    from django.test import Client

    for path in (ENABLE_PAGE, DISABLE_PAGE, VERIFY_PAGE):
        response = Client().get(path)
        assert response.status_code == 302 and "login" in response["Location"]


def test_the_enable_page_shows_a_qr_code_and_confirms_with_a_code(browser, users):
    assert browser.post(ENABLE_PAGE, {"iniciar": "1"}).status_code == 302  # the page's Start button
    page = browser.get(ENABLE_PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and page["Cache-Control"] == "no-store"
    secret = secret_on(page)
    assert TOTPDevice.objects.get(confirmed=False).bin_key == base64.b32decode(secret + "=" * (-len(secret) % 8))
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    refused = browser.post(ENABLE_PAGE, {"codigo": wrong})
    assert refused.status_code == 400 and secret_on(refused) == secret
    done = browser.post(ENABLE_PAGE, {"codigo": totp_code(secret)})
    assert done.status_code == 200 and "convites-2fa-enabled" in done.content.decode()
    assert TOTPDevice.objects.get().confirmed
    again = browser.get(ENABLE_PAGE)
    assert "convites-2fa-active" in again.content.decode() and "<svg" not in again.content.decode()


def test_the_enable_page_needs_csrf(users):
    from django.test import Client

    session = Client(enforce_csrf_checks=True)
    session.force_login(users["usuario"])
    session.get(ENABLE_PAGE)
    assert session.post(ENABLE_PAGE, {"codigo": "123456"}).status_code == 403


def test_the_disable_page_needs_a_current_code(browser, users):
    secret = confirmed_totp(users["usuario"]).secret
    assert browser.post(DISABLE_PAGE, {"codigo": ""}).status_code == 400
    assert browser.post(DISABLE_PAGE, {"codigo": "12345x"}).status_code == 400
    done = browser.post(DISABLE_PAGE, {"codigo": totp_code(secret)})
    assert "convites-2fa-disabled" in done.content.decode()
    assert not TOTPDevice.objects.exists()


def test_the_verify_page_is_the_second_step_of_a_session_login(browser, users):
    device, secret = confirmed_totp(users["usuario"])
    assert browser.get(VERIFY_PAGE).status_code == 200
    assert browser.post(VERIFY_PAGE, {"codigo": "000000" if totp_code(secret) != "000000" else "1"}).status_code == 400
    response = browser.post(VERIFY_PAGE, {"codigo": totp_code(secret), "next": "/tokens/convites/validar/"})
    assert response.status_code == 302 and response["Location"] == "/tokens/convites/validar/"
    from django_otp import DEVICE_ID_SESSION_KEY

    assert browser.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    evil = browser.post(VERIFY_PAGE, {"codigo": totp_code(secret, time.time() + 30), "next": "https://evil.example/"})
    assert evil.status_code == 302 and not evil["Location"].startswith("https://evil")
