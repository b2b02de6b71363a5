"""TOTP seeds at rest: encrypted with TOTP_ENCRYPTION_KEYS, rotated and unsealed by a command."""

from __future__ import annotations

import base64
import time
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites.conf import VALIDATORS
from django_convites.models import TotpSecret
from django_convites.models.two_factor import SEALED_LAST_T
from django_convites.services import sessions, totp_seeds, two_factor
from tests.factories import confirmed_totp, totp_code

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def encrypted(convites_settings):
    convites_settings(TOTP_ENCRYPTION_KEYS=[OLD])


def seed_hex(secret: str) -> str:
    return base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()


def test_with_keys_the_database_never_holds_the_seed(encrypted, users):
    enrolment = two_factor.start_totp(users["usuario"])
    device = TOTPDevice.objects.get()
    real = seed_hex(enrolment.secret)
    assert device.key != real and device.last_t == SEALED_LAST_T
    sealed = TotpSecret.objects.get(device=device)
    assert real not in sealed.ciphertext and enrolment.secret not in sealed.ciphertext
    assert Fernet(OLD).decrypt(sealed.ciphertext.encode()).decode() == real
    # The enrolment shows the real seed; the otpauth URL carries it.
    assert f"secret={enrolment.secret}" in enrolment.otpauth_url


def test_an_encrypted_device_works_once_per_code(encrypted, users):
    now = time.time()
    secret = confirmed_totp(users["usuario"], enrol=True, at=now - 30).secret
    code = totp_code(secret, now)
    assert sessions.login(username="usuario", password="x", otp=code).family.two_factor
    assert not two_factor.verify_user(users["usuario"], code)  # spent: the step is kept in TotpSecret
    assert TOTPDevice.objects.get().last_t == SEALED_LAST_T


def test_django_otps_own_verification_accepts_no_code_of_a_sealed_device(encrypted, users):
    enrolment = two_factor.start_totp(users["usuario"])
    device = TOTPDevice.objects.get()
    decoy_code = TOTP(device.bin_key).token()
    real_code = totp_code(enrolment.secret)
    assert not device.verify_token(decoy_code)
    assert not TOTPDevice.objects.get().verify_token(real_code)


def test_a_new_first_key_still_reads_old_seeds_and_the_command_rotates_them(convites_settings, users):
    convites_settings(TOTP_ENCRYPTION_KEYS=[OLD])
    now = time.time()
    secret = confirmed_totp(users["usuario"], enrol=True, at=now - 30).secret
    convites_settings(TOTP_ENCRYPTION_KEYS=[NEW, OLD])
    assert two_factor.verify_user(users["usuario"], totp_code(secret, now))
    out = StringIO()
    call_command("convites_reencrypt_totp", stdout=out)
    assert "1 TOTP seeds re-encrypted under the first key, 0 encrypted for the first time." in out.getvalue()
    ciphertext = TotpSecret.objects.get().ciphertext.encode()
    assert Fernet(NEW).decrypt(ciphertext).decode() == seed_hex(secret)
    convites_settings(TOTP_ENCRYPTION_KEYS=[NEW])  # the old key can go now
    assert two_factor.verify_user(users["usuario"], totp_code(secret, now + 30))


def test_the_command_seals_plaintext_devices_and_keeps_their_last_step(convites_settings, users):
    now = time.time()
    # No keys yet: plaintext, as django-otp stores it.
    secret = confirmed_totp(users["usuario"], enrol=True, at=now - 30).secret
    device = TOTPDevice.objects.get()
    assert device.key == seed_hex(secret)
    convites_settings(TOTP_ENCRYPTION_KEYS=[NEW])
    out = StringIO()
    call_command("convites_reencrypt_totp", stdout=out)
    assert "0 TOTP seeds re-encrypted under the first key, 1 encrypted for the first time." in out.getvalue()
    device.refresh_from_db()
    assert device.key != seed_hex(secret)
    assert not two_factor.verify_user(users["usuario"], totp_code(secret, now - 30))  # its step stays spent
    assert two_factor.verify_user(users["usuario"], totp_code(secret, now))


def test_decrypt_puts_the_seeds_back_for_django_otp(convites_settings, users):
    convites_settings(TOTP_ENCRYPTION_KEYS=[OLD])
    now = time.time()
    secret = confirmed_totp(users["usuario"], enrol=True, at=now - 30).secret
    call_command("convites_reencrypt_totp", "--decrypt", stdout=StringIO())
    assert not TotpSecret.objects.exists()
    device = TOTPDevice.objects.get()
    assert device.key == seed_hex(secret) and device.last_t == int((now - 30) // 30)
    convites_settings(TOTP_ENCRYPTION_KEYS=[])
    assert two_factor.verify_user(users["usuario"], totp_code(secret, now))


def test_the_command_needs_keys():
    with pytest.raises(CommandError, match="TOTP_ENCRYPTION_KEYS is empty"):
        call_command("convites_reencrypt_totp")


@pytest.mark.parametrize("value", ["one-key", [b"short"], ["not base64 at all!"], None])
def test_keys_must_be_a_list_of_fernet_keys(value):
    check_id, validate = VALIDATORS["TOTP_ENCRYPTION_KEYS"]
    assert check_id == "django_convites.E034"
    assert validate(value) is not None
    assert validate([NEW, OLD]) is None and validate([]) is None


def test_the_api_enrols_an_encrypted_device(encrypted, api_client, users):
    api_client.force_authenticate(users["gestor"])
    data = api_client.post("/api/2fa/totp/").json()
    assert TotpSecret.objects.count() == 1
    assert api_client.post("/api/2fa/totp/confirmar/", {"codigo": totp_code(data["segredo"])}, format="json").json()[
        "ativo"
    ]
    assert totp_seeds.seed(TOTPDevice.objects.get()).hex() == seed_hex(data["segredo"])


@pytest.mark.parallel_db
def test_parallel_submissions_of_one_code_of_a_sealed_device_let_one_through(encrypted, users):
    from collections import Counter

    from tests.parallel import THREADS, race

    enrolment = two_factor.start_totp(users["usuario"])
    TOTPDevice.objects.update(confirmed=True)
    code = totp_code(enrolment.secret)

    def work(index: int) -> None:
        fresh = TOTPDevice.objects.select_related("convites_secret").get()
        if not two_factor.verify(fresh, code):
            raise two_factor.OtpInvalid(status=400)

    assert race(work) == Counter({"ok": 1, "otp_invalid": THREADS - 1})


def test_the_admin_shows_no_seed_and_the_check_asks_for_it(users, settings):
    from django.test import Client

    from django_convites import checks

    enrolment = two_factor.start_totp(users["usuario"])
    device = TOTPDevice.objects.get()
    admin = Client()
    admin.force_login(users["root"])
    page = admin.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode() and enrolment.secret not in page.content.decode()
    assert admin.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
    assert "django_convites.W003" not in [m.id for m in checks.check_middleware()]
    settings.OTP_ADMIN_HIDE_SENSITIVE_DATA = False
    assert "django_convites.W003" in [m.id for m in checks.check_middleware()]
