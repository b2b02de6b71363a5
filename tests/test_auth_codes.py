"""Contract section 7, authentication codes: issuing, validating, cooldown, per-code and per-user limits,
the pluggable sender, secrecy at rest, and single use under real concurrency."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from django_convites._db import deferred
from django_convites.exceptions import (
    CodeCooldown,
    CodeInvalid,
    CodeUndeliverable,
    ConvitesError,
)
from django_convites.models import AuditEvent, AuthCode, AuthCodeLimit
from django_convites.services import auth_codes
from tests.factories import api_as, events, make_user, wrong_code
from tests.invites import error_of
from tests.parallel import api_error

pytestmark = pytest.mark.django_db

ISSUE = "/api/codigos/"
VALIDATE = "/api/codigos/validar/"

#: What the test senders were asked to deliver: (username, code, purpose).
SENT: list[tuple[str, str, str]] = []
_SENT_LOCK = threading.Lock()


def capture(user, code, purpose):
    with _SENT_LOCK:
        SENT.append((user.get_username(), code, purpose))
    return "teste"


def send_by_sms(user, code, purpose):
    capture(user, code, purpose)
    return "sms"


def refuse(user, code, purpose):
    raise CodeUndeliverable()


def explode(user, code, purpose):
    raise RuntimeError("gateway down")


@pytest.fixture
def sent(convites_settings):
    """Codes go to :func:`capture` instead of the mail; the list of what it got."""
    SENT.clear()
    convites_settings(AUTH_CODE_SENDER="tests.test_auth_codes.capture")
    yield SENT
    SENT.clear()


@pytest.fixture
def user(users):
    return users["usuario"]


@pytest.fixture
def client(api_client, user):
    return api_as(user, client=api_client)


def last_code(sent) -> str:
    return sent[-1][1]


def limit_of(user) -> AuthCodeLimit:
    return AuthCodeLimit.objects.get(user=user)


def allow_next_code(user) -> None:
    """Move the user's last send back past the cooldown (instead of sleeping)."""
    AuthCodeLimit.objects.filter(user=user).update(last_sent_at=timezone.now() - datetime.timedelta(hours=1))


def expire(auth_code: AuthCode) -> None:
    past = timezone.now() - datetime.timedelta(hours=1)
    AuthCode.objects.filter(pk=auth_code.pk).update(created_at=past - datetime.timedelta(minutes=10), expires_at=past)


# -- POST /api/codigos/ -----------------------------------------------------------------------------------


def test_issuing_answers_id_expiry_and_channel_and_sends_the_code(client, user, sent):
    before = timezone.now()
    response = client.post(ISSUE, {}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"id", "expira_em", "canal"}
    assert data["canal"] == "teste"
    assert response["Cache-Control"] == "no-store"
    row = AuthCode.objects.get()
    assert data["id"] == row.pk
    assert row.user == user and row.purpose == "verificacao" and row.channel == "teste"
    expires = datetime.datetime.fromisoformat(data["expira_em"])
    assert before + datetime.timedelta(seconds=599) <= expires <= timezone.now() + datetime.timedelta(seconds=600)
    assert len(sent) == 1
    username, code, purpose = sent[0]
    assert (username, purpose) == ("usuario", "verificacao")
    assert len(code) == 6 and code.isascii() and code.isdigit()
    assert code not in json.dumps(data)
    [event] = events("codigo_gerado")
    assert event.actor == user
    assert (event.target_type, event.target_id) == ("codigo", str(row.pk))
    assert event.details == {"finalidade": "verificacao", "canal": "teste"}


def test_a_purpose_can_be_named(client, sent):
    response = client.post(ISSUE, {"finalidade": "trocar_email"}, format="json")
    assert response.status_code == 201, response.content
    assert sent[-1][2] == "trocar_email"
    assert AuthCode.objects.get().purpose == "trocar_email"
    assert events("codigo_gerado")[0].details["finalidade"] == "trocar_email"


@pytest.mark.parametrize(
    "body",
    [
        {"finalidade": "x" * 33},
        {"finalidade": ""},
        {"finalidade": None},
        {"finalidade": "com espaço"},
        {"finalidade": "cvi_4Jx3kLm9pQ2r"},
        {"finalidade": ["a"]},
        {"finalidae": "typo"},
    ],
)
def test_a_bad_purpose_or_unknown_field_is_400_and_sends_nothing(client, sent, body):
    error_of(client.post(ISSUE, body, format="json"), 400, "invalid")
    assert not sent
    assert not AuthCode.objects.exists()
    # The refusal claimed no send slot.
    assert client.post(ISSUE, {}, format="json").status_code == 201


def test_the_body_must_be_an_object(client, sent):
    assert client.post(ISSUE, [1], format="json").status_code == 400
    assert not AuthCode.objects.exists()


def test_both_endpoints_need_a_login(api_client, sent):
    assert api_client.post(ISSUE, {}, format="json").status_code == 401
    assert api_client.post(VALIDATE, {"codigo": "123456"}, format="json").status_code == 401
    assert not AuthCode.objects.exists()


def test_both_endpoints_keep_the_two_factor_check(client, user, sent):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, confirmed=True)
    error_of(client.post(ISSUE, {}, format="json"), 403, "two_factor_required")
    error_of(client.post(VALIDATE, {"codigo": "123456"}, format="json"), 403, "two_factor_required")
    assert not sent


def test_the_code_has_the_configured_length_and_is_zero_padded(convites_settings, user, sent, monkeypatch):
    convites_settings(AUTH_CODE_LENGTH=8)
    asked = []

    def randbelow(limit):
        asked.append(limit)
        return 42

    monkeypatch.setattr(auth_codes.secrets, "randbelow", randbelow)
    issued = auth_codes.issue(user)
    assert issued.code == "00000042" and last_code(sent) == "00000042"
    assert asked == [10**8]
    assert "00000042" not in repr(issued)
    assert auth_codes.validate(user, "00000042").pk == issued.auth_code.pk


def test_only_a_keyed_digest_is_stored(user, sent, settings):
    issued = auth_codes.issue(user)
    row = AuthCode.objects.get()
    stored = [str(value) for value in AuthCode.objects.values().get().values()]
    assert issued.code not in stored
    assert row.digest != hashlib.sha256(issued.code.encode()).hexdigest()
    key = hmac.new(settings.SECRET_KEY.encode(), b"django_convites.auth_codes", hashlib.sha256).digest()
    assert row.digest == hmac.new(key, f"{user.pk}:{issued.code}".encode(), hashlib.sha256).hexdigest()
    # Another SECRET_KEY gives another digest: the digest alone does not give the code away.
    settings.SECRET_KEY = "another-key"
    assert auth_codes.code_digest(user.pk, issued.code) != row.digest


# -- cooldown ---------------------------------------------------------------------------------------------


def test_a_second_code_within_the_cooldown_is_429_with_retry_after(client, user, sent):
    assert client.post(ISSUE, {}, format="json").status_code == 201
    body = error_of(client.post(ISSUE, {}, format="json"), 429, "code_cooldown")
    assert "wait" in body["detail"]
    response = client.post(ISSUE, {}, format="json")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(sent) == 1 and AuthCode.objects.count() == 1
    allow_next_code(user)
    assert client.post(ISSUE, {}, format="json").status_code == 201
    assert len(sent) == 2


def test_the_cooldown_setting_is_read(convites_settings, client, user, sent):
    convites_settings(AUTH_CODE_COOLDOWN=300)
    client.post(ISSUE, {}, format="json")
    response = client.post(ISSUE, {}, format="json")
    assert 240 < int(response["Retry-After"]) <= 300
    convites_settings(AUTH_CODE_COOLDOWN=0)
    assert client.post(ISSUE, {}, format="json").status_code == 201


def test_the_cooldown_is_per_user(client, sent):
    other = make_user("outro")
    assert client.post(ISSUE, {}, format="json").status_code == 201
    second = APIClient()
    second.force_authenticate(other)
    assert second.post(ISSUE, {}, format="json").status_code == 201


def test_a_newer_code_replaces_the_earlier_unspent_one(convites_settings, client, user, sent):
    convites_settings(AUTH_CODE_COOLDOWN=0)
    client.post(ISSUE, {}, format="json")
    first = last_code(sent)
    while True:
        client.post(ISSUE, {}, format="json")
        if last_code(sent) != first:
            break
    second = last_code(sent)
    old, new = AuthCode.objects.order_by("id")[0], AuthCode.objects.order_by("id").last()
    assert old.replaced_at is not None and new.replaced_at is None
    error_of(client.post(VALIDATE, {"codigo": first}, format="json"), 400, "code_invalid")
    assert client.post(VALIDATE, {"codigo": second}, format="json").json() == {"valido": True}


# -- POST /api/codigos/validar/ ---------------------------------------------------------------------------


def test_the_right_code_is_valid_once(client, user, sent):
    client.post(ISSUE, {"finalidade": "saque"}, format="json")
    code = last_code(sent)
    response = client.post(VALIDATE, {"codigo": code}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"valido": True}
    assert response["Cache-Control"] == "no-store"
    row = AuthCode.objects.get()
    assert row.used_at is not None and row.attempts == 0
    [event] = events("codigo_validado")
    assert event.details == {"finalidade": "saque"}
    assert (event.target_type, event.target_id) == ("codigo", str(row.pk))
    error_of(client.post(VALIDATE, {"codigo": code}, format="json"), 410, "code_used")
    assert events("codigo_falhou")[-1].details["motivo"] == "code_used"


def test_a_wrong_code_is_400_and_counts_a_try(client, user, sent):
    client.post(ISSUE, {}, format="json")
    error_of(client.post(VALIDATE, {"codigo": wrong_code(last_code(sent))}, format="json"), 400, "code_invalid")
    assert AuthCode.objects.get().attempts == 1
    assert limit_of(user).consecutive_failures == 1
    [event] = events("codigo_falhou")
    assert event.details == {"motivo": "code_invalid", "finalidade": "verificacao", "tentativas": 1}
    assert event.actor == user
    # The right code still works after a wrong try, and resets the count of wrong codes in a row.
    assert client.post(VALIDATE, {"codigo": last_code(sent)}, format="json").status_code == 200
    assert limit_of(user).consecutive_failures == 0


@pytest.mark.parametrize(
    "code", ["12345", "1234567", "１２３４５６", "+12345", "12_345", " 12345", "", "abcdef", "12345\n"]
)
def test_a_malformed_code_is_code_invalid_and_counts_a_try(client, user, sent, code):
    client.post(ISSUE, {}, format="json")
    error_of(client.post(VALIDATE, {"codigo": code}, format="json"), 400, "code_invalid")
    assert AuthCode.objects.get().attempts == 1
    assert limit_of(user).consecutive_failures == 1


def test_a_missing_or_non_string_code_is_a_validation_error(client, sent):
    client.post(ISSUE, {}, format="json")
    error_of(client.post(VALIDATE, {}, format="json"), 400, "invalid")
    error_of(client.post(VALIDATE, {"codigo": None}, format="json"), 400, "invalid")
    error_of(client.post(VALIDATE, {"codigo": ["123456"]}, format="json"), 400, "invalid")
    error_of(client.post(VALIDATE, {"codigo": "123456", "extra": 1}, format="json"), 400, "invalid")
    assert AuthCode.objects.get().attempts == 0


def test_without_any_code_it_is_code_invalid(client, user):
    error_of(client.post(VALIDATE, {"codigo": "123456"}, format="json"), 400, "code_invalid")
    [event] = events("codigo_falhou")
    assert event.details == {"motivo": "code_invalid"}
    assert (event.target_type, event.target_id) == ("", "")


def test_an_expired_code_is_410(client, user, sent):
    client.post(ISSUE, {}, format="json")
    expire(AuthCode.objects.get())
    error_of(client.post(VALIDATE, {"codigo": last_code(sent)}, format="json"), 410, "code_expired")
    assert AuthCode.objects.get().used_at is None
    assert events("codigo_falhou")[0].details["motivo"] == "code_expired"
    # An expired code takes no tries: nothing is guessed against it.
    error_of(client.post(VALIDATE, {"codigo": wrong_code(last_code(sent))}, format="json"), 410, "code_expired")
    assert AuthCode.objects.get().attempts == 0


def test_the_lifetime_setting_is_read(convites_settings, user, sent):
    convites_settings(AUTH_CODE_LIFETIME=datetime.timedelta(minutes=2))
    row = auth_codes.issue(user).auth_code
    assert row.expires_at - row.created_at == datetime.timedelta(minutes=2)


def test_five_wrong_tries_lock_the_code(client, user, sent):
    client.post(ISSUE, {}, format="json")
    code = last_code(sent)
    for attempt in range(1, 6):
        # The fifth wrong try is still a 400; it locks the code.
        error_of(client.post(VALIDATE, {"codigo": wrong_code(code)}, format="json"), 400, "code_invalid")
        assert AuthCode.objects.get().attempts == attempt
    error_of(client.post(VALIDATE, {"codigo": code}, format="json"), 410, "code_locked")
    error_of(client.post(VALIDATE, {"codigo": wrong_code(code)}, format="json"), 410, "code_locked")
    row = AuthCode.objects.get()
    assert row.attempts == 5 and row.used_at is None
    assert [event.details["motivo"] for event in events("codigo_falhou")] == ["code_invalid"] * 5 + ["code_locked"] * 2
    assert events("codigo_falhou")[4].details["tentativas"] == 5
    # A new code works again.
    allow_next_code(user)
    client.post(ISSUE, {}, format="json")
    assert client.post(VALIDATE, {"codigo": last_code(sent)}, format="json").status_code == 200


def test_validation_is_throttled_per_user(convites_settings, client, sent):
    convites_settings(TWO_FACTOR_RATE="2/minute")
    client.post(ISSUE, {}, format="json")
    code = last_code(sent)
    for _ in range(2):
        client.post(VALIDATE, {"codigo": wrong_code(code)}, format="json")
    error_of(client.post(VALIDATE, {"codigo": code}, format="json"), 429, "throttled")
    assert AuthCode.objects.get().used_at is None


# -- per-user lockout -------------------------------------------------------------------------------------


def test_consecutive_failures_across_codes_lock_the_user_out(convites_settings, client, user, sent):
    convites_settings(AUTH_CODE_FAILURE_LIMIT=7, AUTH_CODE_COOLDOWN=0, TWO_FACTOR_RATE=None)
    client.post(ISSUE, {}, format="json")
    for _ in range(5):
        client.post(VALIDATE, {"codigo": wrong_code(last_code(sent))}, format="json")
    assert limit_of(user).consecutive_failures == 5
    client.post(ISSUE, {}, format="json")
    error_of(client.post(VALIDATE, {"codigo": wrong_code(last_code(sent))}, format="json"), 400, "code_invalid")
    before = timezone.now()
    # The seventh wrong code in a row is still a 400 and starts the lockout.
    error_of(client.post(VALIDATE, {"codigo": wrong_code(last_code(sent))}, format="json"), 400, "code_invalid")
    assert events("codigo_falhou")[-1].details["bloqueio"] is True
    limit = limit_of(user)
    assert limit.consecutive_failures == 0
    assert (
        before + datetime.timedelta(seconds=899)
        <= limit.locked_until
        <= timezone.now() + datetime.timedelta(seconds=900)
    )
    sent_before = len(sent)
    response = client.post(ISSUE, {}, format="json")
    body = error_of(response, 429, "code_cooldown")
    assert "wrong codes" in body["detail"]
    assert 890 <= int(response["Retry-After"]) <= 900
    assert len(sent) == sent_before
    # When the lockout is over, codes come again.
    AuthCodeLimit.objects.filter(user=user).update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert client.post(ISSUE, {}, format="json").status_code == 201
    assert client.post(VALIDATE, {"codigo": last_code(sent)}, format="json").status_code == 200


def test_a_right_code_resets_the_run_of_failures(convites_settings, user, sent):
    convites_settings(AUTH_CODE_FAILURE_LIMIT=3, AUTH_CODE_COOLDOWN=0)
    code = auth_codes.issue(user).code
    for _ in range(2):
        with pytest.raises(CodeInvalid):
            auth_codes.validate(user, wrong_code(code))
    auth_codes.validate(user, code)
    assert limit_of(user).consecutive_failures == 0
    code = auth_codes.issue(user).code
    for _ in range(2):
        with pytest.raises(CodeInvalid):
            auth_codes.validate(user, wrong_code(code))
    limit = limit_of(user)
    assert limit.consecutive_failures == 2 and limit.locked_until is None


def test_the_default_limit_is_twenty_wrong_codes(convites_settings, user, sent):
    convites_settings(AUTH_CODE_COOLDOWN=0)
    for index in range(20):
        if index % 5 == 0:
            auth_codes.issue(user)
        with pytest.raises(CodeInvalid):
            auth_codes.validate(user, wrong_code(last_code(sent)))
        if index < 19:
            assert limit_of(user).locked_until is None
    assert limit_of(user).locked_until > timezone.now() + datetime.timedelta(seconds=890)
    with pytest.raises(CodeCooldown) as caught:
        auth_codes.issue(user)
    assert 890 <= caught.value.retry_after <= 900


def test_the_lockout_setting_is_read(convites_settings, user, sent):
    convites_settings(AUTH_CODE_FAILURE_LIMIT=1, AUTH_CODE_LOCKOUT=120)
    auth_codes.issue(user)
    with pytest.raises(CodeInvalid):
        auth_codes.validate(user, wrong_code(last_code(sent)))
    with pytest.raises(CodeCooldown) as caught:
        auth_codes.issue(user)
    assert 110 <= caught.value.retry_after <= 120


def test_failed_tries_survive_a_rolled_back_transaction(user, sent):
    code = auth_codes.issue(user).code
    with pytest.raises(CodeInvalid), transaction.atomic():
        auth_codes.validate(user, wrong_code(code))
    deferred.flush()
    assert AuthCode.objects.get().attempts == 1
    assert limit_of(user).consecutive_failures == 1
    assert len(events("codigo_falhou")) == 1


# -- senders ----------------------------------------------------------------------------------------------


def test_the_sender_is_pluggable(convites_settings, client, sent):
    convites_settings(AUTH_CODE_SENDER="tests.test_auth_codes.send_by_sms")
    response = client.post(ISSUE, {}, format="json")
    assert response.json()["canal"] == "sms"
    assert AuthCode.objects.get().channel == "sms"
    assert events("codigo_gerado")[0].details["canal"] == "sms"
    assert client.post(VALIDATE, {"codigo": last_code(sent)}, format="json").status_code == 200


def test_a_refusing_sender_stores_nothing_and_claims_no_slot(convites_settings, client, user, sent):
    convites_settings(AUTH_CODE_SENDER="tests.test_auth_codes.refuse")
    error_of(client.post(ISSUE, {}, format="json"), 409, "code_undeliverable")
    assert not AuthCode.objects.exists()
    assert limit_of(user).last_sent_at is None
    assert not events("codigo_gerado")
    convites_settings(AUTH_CODE_SENDER="tests.test_auth_codes.capture")
    assert client.post(ISSUE, {}, format="json").status_code == 201


def test_a_failing_sender_rolls_everything_back(convites_settings, user, sent):
    convites_settings(AUTH_CODE_COOLDOWN=0)
    earlier = auth_codes.issue(user)
    convites_settings(AUTH_CODE_SENDER="tests.test_auth_codes.explode")
    with pytest.raises(RuntimeError):
        auth_codes.issue(user)
    assert list(AuthCode.objects.values_list("pk", "replaced_at")) == [(earlier.auth_code.pk, None)]
    assert auth_codes.validate(user, earlier.code).pk == earlier.auth_code.pk


def test_the_default_sender_needs_an_email(client, user):
    assert not user.email
    error_of(client.post(ISSUE, {}, format="json"), 409, "code_undeliverable")
    assert not mail.outbox and not AuthCode.objects.exists()


def test_the_default_sender_mails_the_code_and_nothing_else_holds_it(client, user, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(auth_codes, "new_code", lambda length=None: "731904")
    user.email = "usuario@example.com"
    user.save()
    response = client.post(ISSUE, {"finalidade": "login"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["canal"] == "email"
    [message] = mail.outbox
    assert message.to == ["usuario@example.com"]
    assert "731904" in message.body
    client.post(VALIDATE, {"codigo": "000000"}, format="json")
    client.post(VALIDATE, {"codigo": "731904"}, format="json")
    client.post(VALIDATE, {"codigo": "731904"}, format="json")
    digest = AuthCode.objects.get().digest
    rows = [str(list(row.values())) for row in AuditEvent.objects.values()]
    assert {row.event for row in AuditEvent.objects.all()} == {"codigo_gerado", "codigo_validado", "codigo_falhou"}
    for secret in ("731904", digest):
        assert not any(secret in row for row in rows)
        assert secret not in caplog.text
    assert "731904" not in str(response.content)


def test_admin_lists_codes_without_the_code_or_its_digest(user, sent):
    from django.test import Client

    issued = auth_codes.issue(user)
    staff = make_user("staff", role="root")
    browser = Client()
    browser.force_login(staff)
    pages = [
        browser.get("/admin/django_convites/authcode/"),
        browser.get("/admin/django_convites/authcode/", {"q": "usuario"}),
        browser.get(f"/admin/django_convites/authcode/{issued.auth_code.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert issued.code not in html and issued.auth_code.digest not in html
    assert "verificacao" in pages[0].content.decode()
    assert browser.get("/admin/django_convites/authcode/add/").status_code == 403


def test_purge_deletes_expired_codes(user, sent):
    issued = auth_codes.issue(user)
    assert auth_codes.purge_expired() == 0
    expire(issued.auth_code)
    assert auth_codes.purge_expired(batch_size=1) == 1
    assert not AuthCode.objects.exists()


def test_cleanup_command_purges_expired_codes(user, sent):
    from io import StringIO

    from django.core.management import call_command

    expire(auth_codes.issue(user).auth_code)
    out = StringIO()
    call_command("convites_cleanup", stdout=out)
    assert "1 expired authentication codes" in out.getvalue()
    assert not AuthCode.objects.exists()


# -- real concurrency (PostgreSQL, MySQL/MariaDB) ---------------------------------------------------------


@pytest.mark.parallel_db
def test_parallel_validations_of_the_right_code_let_one_through(user, sent):
    from tests.parallel import THREADS, race

    code = auth_codes.issue(user).code
    outcomes = race(lambda index: auth_codes.validate(user, code))
    assert outcomes == Counter({"ok": 1, "code_used": THREADS - 1})
    assert AuthCode.objects.get().used_at is not None
    assert len(events("codigo_validado")) == 1


@pytest.mark.parallel_db
def test_parallel_validations_through_the_api_let_one_through(convites_settings, user, sent):
    from tests.parallel import race

    convites_settings(TWO_FACTOR_RATE=None)
    code = auth_codes.issue(user).code

    def work(index: int) -> None:
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(VALIDATE, {"codigo": code}, format="json")
        if response.status_code != 200:
            raise api_error(response)

    outcomes = race(work, threads=20)
    assert outcomes == Counter({"ok": 1, "code_used": 19})


@pytest.mark.parallel_db
def test_parallel_wrong_tries_count_at_most_five(user, sent):
    from tests.parallel import THREADS, race

    code = auth_codes.issue(user).code
    outcomes = race(lambda index: auth_codes.validate(user, wrong_code(code)))
    assert outcomes == Counter({"code_invalid": 5, "code_locked": THREADS - 5})
    assert AuthCode.objects.get().attempts == 5
    assert limit_of(user).consecutive_failures == 5
    with pytest.raises(ConvitesError) as caught:
        auth_codes.validate(user, code)
    assert caught.value.code == "code_locked"


@pytest.mark.parallel_db
def test_parallel_issues_send_exactly_one_code(user, sent):
    from tests.parallel import THREADS, race

    outcomes = race(lambda index: auth_codes.issue(user))
    assert outcomes == Counter({"ok": 1, "code_cooldown": THREADS - 1})
    assert len(sent) == 1
    assert AuthCode.objects.count() == 1
    assert len(events("codigo_gerado")) == 1


@pytest.mark.parallel_db
def test_parallel_issues_through_the_api_send_exactly_one_code(user, sent):
    from tests.parallel import THREADS, race

    def work(index: int) -> None:
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(ISSUE, {}, format="json")
        if response.status_code != 201:
            assert int(response["Retry-After"]) >= 1
            raise api_error(response)

    outcomes = race(work)
    assert outcomes == Counter({"ok": 1, "code_cooldown": THREADS - 1})
    assert len(sent) == 1 and AuthCode.objects.count() == 1


@pytest.mark.parallel_db
def test_parallel_failures_start_one_lockout(convites_settings, user, sent):
    from tests.parallel import race

    convites_settings(AUTH_CODE_FAILURE_LIMIT=3)
    code = auth_codes.issue(user).code
    outcomes = race(lambda index: auth_codes.validate(user, wrong_code(code)))
    assert outcomes["code_invalid"] == 5
    assert len([event for event in events("codigo_falhou") if event.details.get("bloqueio")]) == 1
    assert limit_of(user).locked_until > timezone.now()


@pytest.mark.parallel_db
def test_parallel_issues_and_validations_do_not_deadlock(convites_settings, user, sent):
    from tests.parallel import THREADS, race

    convites_settings(AUTH_CODE_COOLDOWN=0)
    code = auth_codes.issue(user).code

    def work(index: int) -> None:
        if index % 2:
            auth_codes.issue(user)
        else:
            auth_codes.validate(user, code if index % 4 else wrong_code(code))

    outcomes = race(work)
    assert not [outcome for outcome in outcomes if outcome.startswith("crash")], outcomes
    assert sum(outcomes.values()) == THREADS
    # One live code: the one stored last. The first code was spent at most once, possibly before a newer
    # code could replace it.
    assert AuthCode.objects.filter(replaced_at__isnull=True, used_at__isnull=True).count() <= 1
    assert auth_codes.newest_code(user).pk == AuthCode.objects.order_by("-id").first().pk
    assert AuthCode.objects.filter(used_at__isnull=False).count() <= 1
    assert outcomes["ok"] <= THREADS // 2 + 1
