"""Contract section 7, backup codes: ten codes shown once, stored as digests, each accepted once."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from django_convites import tokens
from django_convites.exceptions import OtpInvalid
from django_convites.models import AuditEvent, BackupCode, BackupCodeDevice
from django_convites.models.two_factor import BACKUP_CODE_ALPHABET, BACKUP_CODE_LENGTH
from django_convites.services import backup_codes, sessions, two_factor
from tests.factories import api_as, confirmed_totp, make_backup_codes, totp_code
from tests.invites import error_of

pytestmark = pytest.mark.django_db

URL = "/api/2fa/codigos-backup/"
STATUS = "/api/2fa/"
CODE = re.compile(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}")


@pytest.fixture
def secret(users):
    return confirmed_totp(users["usuario"]).secret


@pytest.fixture
def client(api_client, users, secret):
    return api_as(users["usuario"], client=api_client)


def test_a_current_code_gives_ten_codes_shown_once(client, secret, users):
    response = client.post(URL, {"codigo": totp_code(secret)}, format="json")
    assert response.status_code == 201, response.content
    codes = response.json()["codigos"]
    assert len(codes) == len(set(codes)) == 10
    assert all(CODE.fullmatch(code) for code in codes)
    assert response["Cache-Control"] == "no-store"
    # 16 characters of a 32-letter alphabet: 80 bits each.
    assert len(BACKUP_CODE_ALPHABET) ** BACKUP_CODE_LENGTH == 2**80
    stored = set(BackupCode.objects.values_list("digest", flat=True))
    assert stored == {tokens.digest(code.replace("-", "")) for code in codes}
    assert client.get(STATUS).json()["codigos_backup_restantes"] == 10
    event = AuditEvent.objects.get(event="codigos_backup_gerados")
    assert event.actor == users["usuario"] and event.details == {"quantidade": 10}
    for code in codes:
        assert code not in str(AuditEvent.objects.values_list("details", flat=True))


def test_new_codes_replace_the_old_ones(client, secret):
    now = time.time()
    first = client.post(URL, {"codigo": totp_code(secret, now - 30)}, format="json").json()["codigos"]
    second = client.post(URL, {"codigo": totp_code(secret, now)}, format="json").json()["codigos"]
    assert BackupCodeDevice.objects.count() == 1
    assert BackupCode.objects.count() == 10
    user = BackupCodeDevice.objects.get().user
    assert backup_codes.spend_for_user(user, first[0]) is None
    assert backup_codes.spend_for_user(user, second[0]) is not None


@pytest.mark.parametrize("code", ["000000x", "abc", "１２３４５６", "12345"])
def test_a_wrong_code_gives_no_codes(client, code):
    error_of(client.post(URL, {"codigo": code}, format="json"), 400, "otp_invalid")
    error_of(client.post(URL, {}, format="json"), 400, "invalid")
    assert not BackupCode.objects.exists()
    assert [e.details["acao"] for e in AuditEvent.objects.filter(event="2fa_falhou")] == ["codigos_backup"]


def test_a_backup_code_cannot_make_new_backup_codes(client, secret):
    codes = client.post(URL, {"codigo": totp_code(secret)}, format="json").json()["codigos"]
    error_of(client.post(URL, {"codigo": codes[0]}, format="json"), 400, "otp_invalid")


def test_without_two_factor_there_are_no_backup_codes(api_client, users):
    api_client.force_authenticate(users["gestor"])
    error_of(api_client.post(URL, {"codigo": "123456"}, format="json"), 400, "otp_invalid")
    assert not BackupCode.objects.exists()
    assert api_client.__class__().post(URL, {"codigo": "123456"}, format="json").status_code == 401


def test_each_code_logs_in_once_typed_loosely(client, secret):
    codes = client.post(URL, {"codigo": totp_code(secret)}, format="json").json()["codigos"]
    loose = " " + codes[0].upper().replace("-", " ") + " "
    assert sessions.login(username="usuario", password="x", otp=loose).access
    with pytest.raises(OtpInvalid):
        sessions.login(username="usuario", password="x", otp=codes[0])
    assert sessions.login(username="usuario", password="x", otp=codes[1]).family.two_factor is True
    assert client.get(STATUS).json()["codigos_backup_restantes"] == 8


def test_the_login_endpoint_takes_a_backup_code_as_otp(client, secret, api_client):
    codes = client.post(URL, {"codigo": totp_code(secret)}, format="json").json()["codigos"]
    login = api_client.__class__()
    body = {"username": "usuario", "password": "x", "otp": codes[3]}
    assert login.post("/api/auth/token/", body, format="json").status_code == 200
    error_of(login.post("/api/auth/token/", body, format="json"), 401, "otp_invalid")


def test_the_verify_page_takes_a_backup_code(client, secret, users):
    codes = client.post(URL, {"codigo": totp_code(secret)}, format="json").json()["codigos"]
    browser = Client()
    browser.force_login(users["usuario"])
    response = browser.post("/tokens/verificar-2fa/", {"codigo": codes[0], "next": "/site/page/"})
    # Not straight on to next: a page says a backup code was spent and how many are left.
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are logged in with a backup code." in html and "9 unused backup codes left" in html
    assert 'class="convites-button" href="/site/page/"' in html
    assert 'href="/tokens/codigos-backup/?next=%2Fsite%2Fpage%2F"' in html
    assert browser.get("/site/page/").status_code == 200


def test_disabling_two_factor_removes_the_backup_codes(client, secret):
    now = time.time()
    codes = client.post(URL, {"codigo": totp_code(secret, now - 30)}, format="json").json()["codigos"]
    assert client.post("/api/2fa/desativar/", {"codigo": codes[5]}, format="json").status_code == 200
    assert not BackupCodeDevice.objects.exists() and not BackupCode.objects.exists()


def test_the_admin_never_shows_a_code(client, secret, users):
    codes = client.post(URL, {"codigo": totp_code(secret)}, format="json").json()["codigos"]
    admin = Client()
    admin.force_login(users["root"])
    two_factor.forget_device(users["root"])
    device = BackupCodeDevice.objects.get()
    pages = [admin.get(f"/admin/django_convites/backupcodedevice/{path}") for path in ("", f"{device.pk}/change/")]
    assert [page.status_code for page in pages] == [200, 200]
    text = "".join(page.content.decode() for page in pages)
    assert ">10<" in text.replace(" ", "")  # the count of codes left is shown
    for code in codes:
        assert code not in text and code.replace("-", "") not in text
    for digest in BackupCode.objects.values_list("digest", flat=True):
        assert digest not in text


@pytest.mark.parallel_db
def test_parallel_logins_with_one_backup_code_let_one_through(users, secret, convites_settings):
    from collections import Counter

    from tests.parallel import THREADS, race

    convites_settings(TOTP_FAILURE_LIMIT=100)  # the replays count as wrong codes; no lockout here
    code = make_backup_codes(users["usuario"])[0]

    def work(index: int) -> None:
        sessions.login(username="usuario", password="x", otp=code)

    assert race(work) == Counter({"ok": 1, "otp_invalid": THREADS - 1})
    assert BackupCode.objects.filter(used_at__isnull=False).count() == 1
