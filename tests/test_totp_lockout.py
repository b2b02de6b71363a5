"""Issue 11, finding 5: a cap on consecutive wrong two-factor codes (NIST SP 800-63B 5.2.2).

One counter per user, in the database, shared by every place a second-factor code is checked: the JWT
login's ``otp``, the API's two-factor endpoints and the HTML pages. Past ``TOTP_FAILURE_LIMIT`` wrong
codes in a row every code, a right one too, is refused with 429 ``otp_locked`` until ``TOTP_LOCKOUT``
has passed or an admin unlocks the user.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from django_convites import checks
from django_convites._db import deferred
from django_convites.exceptions import ConvitesError, NotAllowed, OtpInvalid, OtpLocked
from django_convites.models import TwoFactorLimit
from django_convites.services import backup_codes, sessions, two_factor
from tests.factories import api_as, browser_as, confirmed_totp, events, make_backup_codes, totp_code
from tests.invites import error_of
from tests.parallel import api_error

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/token/"
CONFIRM = "/api/2fa/totp/confirmar/"
DISABLE = "/api/2fa/desativar/"
BACKUP = "/api/2fa/codigos-backup/"
ENABLE_PAGE = "/tokens/ativar-2fa/"
DISABLE_PAGE = "/tokens/desativar-2fa/"
VERIFY_PAGE = "/tokens/verificar-2fa/"
ADMIN_LIST = "/admin/django_convites/twofactorlimit/"


@pytest.fixture(autouse=True)
def _no_rate_limits(convites_settings):
    """The throttles are another defence; these tests are about the counter."""
    convites_settings(TWO_FACTOR_RATE=None, LOGIN_RATE=None, LOGIN_USERNAME_RATE=None)


@pytest.fixture
def user(users):
    return users["usuario"]


@pytest.fixture
def device(user):
    return confirmed_totp(user, name="django-convites").device


def current_codes(device) -> set[str]:
    device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = generator.time
    codes = set()
    for offset in range(-device.tolerance, device.tolerance + 1):
        generator.time = now + offset * device.step
        codes.add(f"{generator.token():06d}")
    return codes


def wrong(device) -> str:
    valid = current_codes(device)
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def failures(user) -> int:
    row = TwoFactorLimit.objects.filter(user=user).first()
    return 0 if row is None else row.consecutive_failures


def locked_until(user):
    return TwoFactorLimit.objects.get(user=user).locked_until


def lock_out(user, device, times: int) -> None:
    for _ in range(times):
        assert not two_factor.verify_user(user, wrong(device))


# -- the cap ----------------------------------------------------------------------------------------------


def test_past_the_cap_even_a_right_code_is_refused(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=3, TOTP_LOCKOUT=600)
    lock_out(user, device, 2)
    assert failures(user) == 2
    before = timezone.now()
    # The third wrong code in a row is refused like any wrong code, and starts the lockout.
    assert not two_factor.verify_user(user, wrong(device))
    assert (
        before + datetime.timedelta(seconds=599)
        <= locked_until(user)
        <= timezone.now() + datetime.timedelta(seconds=600)
    )
    code = totp_code(device, unspent=True)
    with pytest.raises(OtpLocked) as caught:
        two_factor.verify_user(user, code)
    assert caught.value.status_code == 429 and caught.value.code == "otp_locked"
    assert 590 <= caught.value.retry_after <= 600
    # The refused code was not even checked: its time step is still unspent.
    assert TOTPDevice.objects.get(pk=device.pk).last_t == -1
    [locked] = events("2fa_bloqueado")
    assert locked.actor == user
    assert (locked.target_type, locked.target_id) == ("usuario", str(user.pk))
    assert locked.details["tentativas"] == 3


def test_the_default_cap_is_ten_wrong_codes(user, device):
    lock_out(user, device, 9)
    assert TwoFactorLimit.objects.get(user=user).locked_until is None
    lock_out(user, device, 1)
    assert locked_until(user) > timezone.now() + datetime.timedelta(seconds=890)
    with pytest.raises(OtpLocked) as caught:
        two_factor.verify_user(user, totp_code(device, unspent=True))
    assert 890 <= caught.value.retry_after <= 900


def test_a_right_code_ends_the_run_of_wrong_ones(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=3)
    lock_out(user, device, 2)
    assert two_factor.verify_user(user, totp_code(device, unspent=True))
    assert failures(user) == 0
    lock_out(user, device, 2)
    row = TwoFactorLimit.objects.get(user=user)
    assert row.consecutive_failures == 2 and row.locked_until is None
    assert not events("2fa_bloqueado")


def test_the_lockout_ends_when_its_time_is_over(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=2, TOTP_LOCKOUT=60)
    lock_out(user, device, 2)
    with pytest.raises(OtpLocked):
        two_factor.verify_user(user, totp_code(device, unspent=True))
    TwoFactorLimit.objects.filter(user=user).update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert two_factor.verify_user(user, totp_code(device, unspent=True))
    # A fresh run: the cap counts again from zero.
    lock_out(user, device, 1)
    assert failures(user) == 1


def test_refusals_during_the_lockout_do_not_count(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=2)
    lock_out(user, device, 2)
    for _ in range(3):
        with pytest.raises(OtpLocked):
            two_factor.verify_user(user, wrong(device))
    assert failures(user) == 0
    assert len(events("2fa_bloqueado")) == 1


def test_backup_codes_count_and_are_refused_past_the_cap(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=3)
    codes = make_backup_codes(user)
    assert not two_factor.verify_user(user, "aaaa-aaaa-aaaa-aaaa")  # a wrong backup code
    assert failures(user) == 1
    assert two_factor.verify_user(user, codes[0])  # a right one ends the run
    assert failures(user) == 0
    lock_out(user, device, 3)
    with pytest.raises(OtpLocked):
        two_factor.verify_user(user, codes[1])
    assert backup_codes.remaining(user) == 9  # refused unchecked, so not spent


def test_failures_survive_a_rolled_back_transaction(user, device):
    with pytest.raises(RuntimeError), transaction.atomic():
        assert not two_factor.verify_user(user, wrong(device))
        raise RuntimeError
    deferred.flush()
    assert failures(user) == 1


def test_a_lockout_reached_inside_a_transaction_starts_once_it_ends(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=1)
    with transaction.atomic():
        assert not two_factor.verify_user(user, wrong(device))
    deferred.flush()
    assert locked_until(user) > timezone.now()
    assert len(events("2fa_bloqueado")) == 1


# -- every entry point counts into the one counter --------------------------------------------------------


def test_every_entry_point_counts_into_the_same_counter(user):
    # Confirming a new device: the API and the HTML page.
    client, session = api_as(user), browser_as(user)
    client.post("/api/2fa/totp/")
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    error_of(client.post(CONFIRM, {"codigo": wrong(pending)}, format="json"), 400, "otp_invalid")
    assert failures(user) == 1
    assert session.post(ENABLE_PAGE, {"codigo": wrong(pending)}).status_code == 400
    assert failures(user) == 2
    # With a confirmed device: the JWT login, the API's disable and backup codes, the HTML pages.
    TOTPDevice.objects.filter(pk=pending.pk).update(confirmed=True)
    device = TOTPDevice.objects.get(pk=pending.pk)
    response = APIClient().post(LOGIN, {"username": "usuario", "password": "x", "otp": wrong(device)}, format="json")
    error_of(response, 401, "otp_invalid")
    assert failures(user) == 3
    error_of(client.post(DISABLE, {"codigo": wrong(device)}, format="json"), 400, "otp_invalid")
    assert failures(user) == 4
    error_of(client.post(BACKUP, {"codigo": wrong(device)}, format="json"), 400, "otp_invalid")
    assert failures(user) == 5
    assert session.post(VERIFY_PAGE, {"codigo": wrong(device)}).status_code == 400
    assert failures(user) == 6
    assert session.post(DISABLE_PAGE, {"codigo": wrong(device)}).status_code == 400
    assert failures(user) == 7
    # A right code anywhere ends the run for all of them.
    assert session.post(VERIFY_PAGE, {"codigo": totp_code(device, unspent=True)}).status_code == 302
    assert failures(user) == 0


def test_every_entry_point_refuses_a_right_code_past_the_cap(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=2)
    lock_out(user, device, 2)
    client, session = api_as(user), browser_as(user)

    response = APIClient().post(
        LOGIN, {"username": "usuario", "password": "x", "otp": totp_code(device, unspent=True)}, format="json"
    )
    error_of(response, 429, "otp_locked")
    assert 1 <= int(response["Retry-After"]) <= 900
    assert events("login_falhou")[-1].details["motivo"] == "otp_locked"

    for path in (DISABLE, BACKUP):
        response = client.post(path, {"codigo": totp_code(device, unspent=True)}, format="json")
        error_of(response, 429, "otp_locked")
        assert 1 <= int(response["Retry-After"]) <= 900

    for path in (VERIFY_PAGE, DISABLE_PAGE):
        page = session.post(path, {"codigo": totp_code(device, unspent=True)})
        assert page.status_code == 429
        assert 1 <= int(page["Retry-After"]) <= 900
        assert "Too many wrong two-factor codes" in page.content.decode()

    refusals = [event.details for event in events("2fa_falhou")]
    assert refusals == [
        {"acao": "desativar", "motivo": "otp_locked"},
        {"acao": "codigos_backup", "motivo": "otp_locked"},
        {"acao": "verificar", "motivo": "otp_locked"},
        {"acao": "desativar", "motivo": "otp_locked"},
    ]
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert failures(user) == 0 and len(events("2fa_bloqueado")) == 1


def test_confirming_a_device_is_refused_past_the_cap(convites_settings, user):
    convites_settings(TOTP_FAILURE_LIMIT=2)
    client = api_as(user)
    client.post("/api/2fa/totp/")
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    for _ in range(2):
        client.post(CONFIRM, {"codigo": wrong(pending)}, format="json")
    error_of(client.post(CONFIRM, {"codigo": totp_code(pending, unspent=True)}, format="json"), 429, "otp_locked")
    page = browser_as(user).post(ENABLE_PAGE, {"codigo": totp_code(pending, unspent=True)})
    assert page.status_code == 429
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_a_login_without_the_password_never_reaches_the_counter(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=1)
    response = APIClient().post(
        LOGIN, {"username": "usuario", "password": "wrong", "otp": wrong(device)}, format="json"
    )
    error_of(response, 401, "invalid_credentials")
    assert failures(user) == 0 and not TwoFactorLimit.objects.exists()
    # And a stranger's wrong passwords cannot lock the user out.
    assert sessions.login(username="usuario", password="x", otp=totp_code(device, unspent=True)).access


# -- unlocking --------------------------------------------------------------------------------------------


def staff(user, *codenames: str):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_an_admin_unlocks_a_user_from_the_admin(convites_settings, users, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=2)
    lock_out(user, device, 2)
    admin_user = staff(users["admin"], "view_twofactorlimit")
    session = browser_as(admin_user)
    listing = session.get(ADMIN_LIST)
    assert listing.status_code == 200 and "usuario" in listing.content.decode()
    assert session.get(f"{ADMIN_LIST}add/").status_code == 403
    response = session.post(ADMIN_LIST, {"action": "unlock_selected", "_selected_action": [user.pk]}, follow=True)
    assert "1 users unlocked." in response.content.decode()
    row = TwoFactorLimit.objects.get(user=user)
    assert row.consecutive_failures == 0 and row.locked_until is None
    [unlocked] = events("2fa_desbloqueado")
    assert unlocked.actor == admin_user
    assert (unlocked.target_type, unlocked.target_id) == ("usuario", str(user.pk))
    assert unlocked.details == {"bloqueio": True, "tentativas": 0}
    assert two_factor.verify_user(user, totp_code(device, unspent=True))


def test_unlocking_clears_a_run_short_of_the_cap_too(users, user, device):
    lock_out(user, device, 4)
    assert two_factor.unlock(user, actor=users["root"])
    assert failures(user) == 0
    assert events("2fa_desbloqueado")[0].details == {"bloqueio": False, "tentativas": 4}
    # Nothing to clear: no event.
    assert not two_factor.unlock(user, actor=users["root"])
    assert len(events("2fa_desbloqueado")) == 1


def test_only_root_and_admin_may_unlock(convites_settings, users, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=1)
    lock_out(user, device, 1)
    for role in ("gestor", "usuario"):
        with pytest.raises(NotAllowed):
            two_factor.unlock(user, actor=users[role])
    # Nobody lifts their own lockout, root included: it ends by time or by someone else.
    lock_out(users["root"], confirmed_totp(users["root"]).device, 1)
    with pytest.raises(NotAllowed):
        two_factor.unlock(users["root"], actor=users["root"])
    assert locked_until(users["root"]) > timezone.now()
    # A gestor with admin access sees the rows but gets no unlock action.
    session = browser_as(staff(users["gestor"], "view_twofactorlimit"))
    assert "unlock_selected" not in session.get(ADMIN_LIST).content.decode()
    session.post(ADMIN_LIST, {"action": "unlock_selected", "_selected_action": [user.pk]})
    assert locked_until(user) > timezone.now()
    assert not events("2fa_desbloqueado")


def test_the_admin_shows_no_secret(users, user, device):
    lock_out(user, device, 1)
    session = browser_as(staff(users["admin"], "view_twofactorlimit"))
    page = session.get(f"{ADMIN_LIST}{user.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert device.key not in html


# -- settings ---------------------------------------------------------------------------------------------


def ids(messages):
    return [message.id for message in messages]


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [
        ("TOTP_FAILURE_LIMIT", 0, "django_convites.E042"),
        ("TOTP_FAILURE_LIMIT", 101, "django_convites.E042"),
        ("TOTP_FAILURE_LIMIT", True, "django_convites.E042"),
        ("TOTP_FAILURE_LIMIT", "10", "django_convites.E042"),
        ("TOTP_FAILURE_LIMIT", None, "django_convites.E042"),
        ("TOTP_LOCKOUT", 59, "django_convites.E043"),
        ("TOTP_LOCKOUT", 86401, "django_convites.E043"),
        ("TOTP_LOCKOUT", datetime.timedelta(seconds=30), "django_convites.E043"),
        ("TOTP_LOCKOUT", "900", "django_convites.E043"),
        ("TOTP_LOCKOUT", None, "django_convites.E043"),
    ],
)
def test_bad_lockout_settings_are_reported(key, value, check_id):
    with override_settings(DJANGO_CONVITES={key: value}):
        assert ids(checks.check_settings()) == [check_id]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TOTP_FAILURE_LIMIT", 1),
        ("TOTP_FAILURE_LIMIT", 100),
        ("TOTP_LOCKOUT", 60),
        ("TOTP_LOCKOUT", 86400),
        ("TOTP_LOCKOUT", datetime.timedelta(hours=1)),
    ],
)
def test_good_lockout_settings_pass(key, value):
    with override_settings(DJANGO_CONVITES={key: value}):
        assert checks.check_settings() == []


def test_the_lockout_settings_are_read_as_typed_values(convites_settings):
    from django_convites.conf import app_settings

    assert app_settings.TOTP_FAILURE_LIMIT == 10
    assert app_settings.TOTP_LOCKOUT.total_seconds() == 900
    convites_settings(TOTP_FAILURE_LIMIT=5, TOTP_LOCKOUT=datetime.timedelta(minutes=2))
    assert app_settings.TOTP_FAILURE_LIMIT == 5
    assert app_settings.TOTP_LOCKOUT.total_seconds() == 120


# -- real concurrency -------------------------------------------------------------------------------------


def _refusal(ok: bool) -> None:
    if not ok:
        raise OtpInvalid(status=400)


@pytest.mark.parallel_db
def test_thirty_parallel_wrong_codes_count_thirty(convites_settings, user, device):
    from tests.parallel import race

    convites_settings(TOTP_FAILURE_LIMIT=100)
    code = wrong(device)
    outcomes = race(lambda index: _refusal(two_factor.verify_user(user, code)), threads=30)
    assert outcomes == Counter({"otp_invalid": 30})
    assert failures(user) == 30
    assert len(events("2fa_bloqueado")) == 0


@pytest.mark.parallel_db
def test_thirty_parallel_wrong_codes_through_every_entry_point_count_thirty(convites_settings, user, device):
    from tests.parallel import race

    convites_settings(TOTP_FAILURE_LIMIT=100)
    code = wrong(device)

    def work(index: int) -> None:
        kind = index % 3
        if kind == 0:
            response = APIClient().post(LOGIN, {"username": "usuario", "password": "x", "otp": code}, format="json")
            expected = 401
        elif kind == 1:
            response = api_as(user).post(DISABLE, {"codigo": code}, format="json")
            expected = 400
        else:
            page = browser_as(user).post(VERIFY_PAGE, {"codigo": code})
            if page.status_code != 400:
                raise ConvitesError(code=f"status {page.status_code}")
            raise OtpInvalid(status=400)
        if response.status_code != expected:
            raise ConvitesError(code=f"status {response.status_code}")
        raise api_error(response)

    outcomes = race(work, threads=30)
    assert outcomes == Counter({"otp_invalid": 30})
    assert failures(user) == 30


@pytest.mark.parallel_db
def test_parallel_wrong_codes_past_the_cap_start_one_lockout(convites_settings, user, device):
    from tests.parallel import race

    convites_settings(TOTP_FAILURE_LIMIT=10)
    code = wrong(device)
    outcomes = race(lambda index: _refusal(two_factor.verify_user(user, code)), threads=30)
    assert sum(outcomes.values()) == 30 and set(outcomes) <= {"otp_invalid", "otp_locked"}
    assert outcomes["otp_invalid"] >= 10
    assert len(events("2fa_bloqueado")) == 1
    assert locked_until(user) > timezone.now()
    with pytest.raises(OtpLocked):
        two_factor.verify_user(user, totp_code(device, unspent=True))


def test_the_lockout_speaks_portuguese(convites_settings, user, device):
    convites_settings(TOTP_FAILURE_LIMIT=1)
    lock_out(user, device, 1)
    response = api_as(user).post(
        DISABLE, {"codigo": totp_code(device, unspent=True)}, format="json", HTTP_ACCEPT_LANGUAGE="pt-br"
    )
    body = error_of(response, 429, "otp_locked")
    assert body["detail"].startswith("Códigos de dois fatores errados demais seguidos")
