"""The webhook outbox (docs/webhooks.rst): a delivery is written with its audit event, in the same
transaction, and rolled back with it; what it carries is the audit API's row, and never a secret."""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from django_convites import signals, tokens
from django_convites.exceptions import ConvitesError
from django_convites.models import (
    ApiToken,
    AuditEvent,
    AuthCode,
    BackupCode,
    DeliveryState,
    Invite,
    RefreshToken,
    TotpSecret,
    WebhookDelivery,
)
from django_convites.services import webhooks as outbox
from django_convites.webhooks import payload_of
from tests.factories import (
    api_as,
    bearer,
    events,
    issue,
    jwt_login,
    make_user,
    post_login,
    post_refresh,
    totp_code,
    unique_name,
    wrong_code,
)
from tests.urls import test_done
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db

SECRET = "segredo-do-receptor-1"
AUDIT = "/api/auditoria/"
VALIDATE = "/api/tokens/validate/"


class Rollback(Exception):
    pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def hooks(receiver: Receiver, convites_settings: Any) -> Receiver:
    """One endpoint, on the loopback receiver, that wants every event."""
    convites_settings(WEBHOOKS=[{"url": receiver.url(), "secret": SECRET}], WEBHOOK_ALLOW_PRIVATE_URLS=True)
    return receiver


def deliveries_of(name: str) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(event=name).order_by("id"))


# -- written with the event, in its transaction ------------------------------------------------------------


def test_an_event_gets_one_pending_delivery_per_endpoint(users, convites_settings):
    convites_settings(
        WEBHOOKS=[
            {"url": "https://hooks.example.com/a", "secret": SECRET},
            {"url": "https://hooks.example.net/b?k=1", "secret": [SECRET, "outro-segredo-longo"]},
        ]
    )
    before = timezone.now()
    test_done.send(sender=None, actor=users["gestor"], details={"n": 1})
    (event,) = AuditEvent.objects.all()
    rows = list(WebhookDelivery.objects.order_by("url"))
    assert [row.url for row in rows] == ["https://hooks.example.com/a", "https://hooks.example.net/b?k=1"]
    for row in rows:
        assert (row.event_id, row.event, row.actor_pk) == (event.pk, "teste_feito", str(users["gestor"].pk))
        assert row.payload == payload_of(event)
        assert (row.state, row.attempts, row.leased_until, row.delivered_at) == (DeliveryState.PENDING, 0, None, None)
        assert before <= row.next_attempt_at <= timezone.now()


def test_no_endpoint_no_delivery(users):
    issue(users["admin"])
    jwt_login(users["usuario"])
    assert {event.event for event in AuditEvent.objects.all()} == {"convite_gerado", "login"}
    assert not WebhookDelivery.objects.exists()


def test_eventos_narrows_what_an_endpoint_receives(users, convites_settings):
    convites_settings(
        WEBHOOKS=[
            {"url": "https://logins.example.com/", "secret": SECRET, "eventos": ["login", "login_falhou"]},
            {"url": "https://all.example.com/", "secret": SECRET},
        ]
    )
    issue(users["admin"])
    jwt_login(users["usuario"])
    assert [row.url for row in deliveries_of("convite_gerado")] == ["https://all.example.com/"]
    assert sorted(row.url for row in deliveries_of("login")) == [
        "https://all.example.com/",
        "https://logins.example.com/",
    ]


def test_webhook_falhou_never_becomes_a_delivery(hooks):
    signals.webhook_failed.send(
        sender=WebhookDelivery,
        actor=None,
        target=None,
        meta=None,
        details={"entrega": 1, "evento": "login", "evento_id": 1, "destino": "https://x", "tentativas": 1, "erro": "x"},
    )
    assert AuditEvent.objects.filter(event="webhook_falhou").count() == 1
    assert not WebhookDelivery.objects.exists()
    assert outbox.endpoints_for("webhook_falhou") == []


def test_a_success_event_rolled_back_leaves_neither_event_nor_delivery(users, hooks):
    with pytest.raises(Rollback), transaction.atomic():
        issue(users["admin"])
        assert len(deliveries_of("convite_gerado")) == 1  # written inside, with the invite and the event
        raise Rollback
    assert not Invite.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("atomic_requests", [False, True], ids=["autocommit", "ATOMIC_REQUESTS"])
def test_failure_events_keep_their_deliveries_through_the_failure_response(hooks, monkeypatch, atomic_requests):
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", atomic_requests)
    user = make_user()
    client = APIClient()
    assert post_login(client, user.get_username(), "wrong-password").status_code == 401
    unknown = tokens.generate(tokens.Kind.INVITE)
    assert client.post(VALIDATE, {"codigo": unknown}, format="json").status_code == 404
    assert client.post("/api/t/host-fail/").status_code == 401
    for name in ("login_falhou", "convite_validacao_falhou", "teste_falhou"):
        (event,) = events(name)
        (row,) = deliveries_of(name)
        assert (row.event_id, row.payload) == (event.pk, payload_of(event))
    # A success event of a view that then fails: ATOMIC_REQUESTS rolls both back; otherwise both stay.
    assert client.post("/api/t/done-then-fail/").status_code == 400
    assert len(events("teste_feito")) == len(deliveries_of("teste_feito")) == (0 if atomic_requests else 1)
    assert {row.event_id for row in WebhookDelivery.objects.all()} == set(
        AuditEvent.objects.values_list("pk", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_failure_event_inside_a_rolled_back_block_keeps_its_delivery(hooks):
    user = make_user()
    with pytest.raises(Rollback), transaction.atomic():
        with pytest.raises(ConvitesError):
            jwt_login(user, password="wrong-password")
        raise Rollback
    (event,) = events("login_falhou")
    (row,) = deliveries_of("login_falhou")
    assert row.event_id == event.pk


def test_a_request_that_changes_nothing_writes_no_delivery(users, hooks):
    client = api_as(users["root"])
    assert client.get(AUDIT).status_code == 200
    assert client.get("/api/api-tokens/").status_code == 200
    assert client.get("/api/tokens/").status_code == 200
    assert APIClient().post(VALIDATE, {"codigo": "cvi_nope"}, format="json").status_code == 400  # malformed
    assert not AuditEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


# -- the payload -------------------------------------------------------------------------------------------


def test_the_payload_is_the_audit_api_row_with_the_target_nested(users, hooks):
    assert post_login(APIClient(), "jo\u00e3o-\u00fc", "x", headers={"REMOTE_ADDR": "198.51.100.4"}).status_code == 401
    issue(users["admin"])
    token = api_as(users["usuario"]).post("/api/api-tokens/", {"nome": "\u00e7\u00e3o", "scope": "read"}, format="json")
    assert token.status_code == 201
    test_done.send(sender=None, details={"texto": "a\u00e7\u00e3o \u2713", "lista": [1, None, True]})
    rows = api_as(users["root"]).get(AUDIT, {"limite": 200}).json()["results"]
    assert len(rows) == AuditEvent.objects.count() == WebhookDelivery.objects.count() == 4
    shown = {row["id"]: row for row in rows}
    for delivery in WebhookDelivery.objects.all():
        assert delivery.payload.isascii()  # what is signed is what is sent, whatever the encoding
        sent = json.loads(delivery.payload)
        row = dict(shown[delivery.event_id])
        row["alvo"] = {"tipo": row.pop("alvo_tipo"), "id": row.pop("alvo_id")}
        assert sent == row
        assert list(sent) == ["id", "evento", "criado_em", "usuario", "alvo", "ip", "user_agent", "detalhes"]
    outbox.deliver_due()
    assert sorted(hooks.bodies()) == sorted(row.payload.encode() for row in WebhookDelivery.objects.all())


# -- no secret in any payload ------------------------------------------------------------------------------

#: Codes AUTH_CODE_SENDER was handed in this module's tests.
CODES_SENT: list[str] = []


def keep_code(user: Any, code: str, purpose: str) -> str:
    CODES_SENT.append(code)
    return "teste"


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_TOKEN = re.compile(r"cv[ipr]_[0-9A-Za-z]{33}")


def leaks(secrets: Mapping[str, str], texts: Mapping[str, str]) -> list[str]:
    """Where a secret shows in ``texts``, or anything shaped like a token of the app. A secret of digits
    alone (a code) is looked for outside the times, whose microseconds are digits too."""
    found = []
    for where, text in texts.items():
        timeless = _TIME.sub("<time>", text)
        for name, secret in secrets.items():
            if secret in (timeless if secret.isdigit() else text):
                found.append(f"{name} in {where}")
        found += [f"a token in {where}" for token in _TOKEN.findall(text) if tokens.is_well_formed(token)]
    return found


def stored_secrets() -> dict[str, str]:
    """Every digest, key and sealed seed the database holds."""
    stored: dict[str, str] = {}
    for model, field in [
        (Invite, "code_digest"),
        (ApiToken, "digest"),
        (RefreshToken, "digest"),
        (AuthCode, "digest"),
        (BackupCode, "digest"),
        (TotpSecret, "ciphertext"),
        (TOTPDevice, "key"),
    ]:
        for pk, value in model.objects.values_list("pk", field):
            stored[f"{model.__name__}.{field} of {pk}"] = value
    return stored


def what_webhooks_saw(receiver: Receiver) -> dict[str, str]:
    """Every outbox row's fields and every request the receiver got (body and headers)."""
    texts = {f"delivery {row['id']}": json.dumps(row, default=str) for row in WebhookDelivery.objects.values()}
    for position, request in enumerate(receiver.requests):
        texts[f"request {position}"] = request.body.decode() + "\n" + str(request.headers)
    return texts


def deliver_all() -> None:
    report = outbox.deliver_due()
    assert report.delivered == report.attempted and WebhookDelivery.objects.exclude(state="entregue").count() == 0


def test_the_checker_sees_a_planted_secret(users, hooks):
    """A stored digest written into an event's details (not token-shaped, so the audit keeps it), and a
    token written into an outbox row by hand (past the audit's redaction): the checker finds both."""
    issued = issue(users["admin"])
    test_done.send(sender=None, details={"nota": issued.invite.code_digest})
    planted = tokens.generate(tokens.Kind.API_TOKEN)
    row = WebhookDelivery.objects.get(event="convite_gerado")
    WebhookDelivery.objects.filter(pk=row.pk).update(
        payload=row.payload.replace('"detalhes":', f'"x":"{planted}","detalhes":')
    )
    deliver_all()
    found = leaks({"the invite's code": issued.code, **stored_secrets()}, what_webhooks_saw(hooks))
    digest_name = f"Invite.code_digest of {issued.invite.pk}"
    teste = WebhookDelivery.objects.get(event="teste_feito").pk
    assert sorted(found) == sorted(
        [
            f"{digest_name} in delivery {teste}",
            f"{digest_name} in request {[r.delivery for r in hooks.requests].index(str(teste))}",
            f"a token in delivery {row.pk}",
            f"a token in request {[r.delivery for r in hooks.requests].index(str(row.pk))}",
        ]
    )


def test_no_secret_of_any_flow_reaches_a_webhook(users, hooks, convites_settings):
    convites_settings(
        AUTH_CODE_SENDER="tests.test_webhooks_outbox.keep_code",
        AUTH_CODE_LENGTH=10,
        TOTP_ENCRYPTION_KEYS=[Fernet.generate_key().decode()],
    )
    shown: dict[str, str] = {}  # every secret a response, a mail or a sender showed
    password = f"senha-{uuid.uuid4().hex}"
    user = make_user(unique_name("pessoa"), password=password, email="pessoa@example.com")
    shown["the password"] = password

    # Invites: issued (one bound to an address, sent by mail), validated, used.
    admin = api_as(users["admin"])
    invite = admin.post("/api/tokens/", {"tipo_destino": "associado"}, format="json").json()["codigo"]
    bound = admin.post("/api/tokens/", {"tipo_destino": "associado", "email": "x@example.com"}, format="json")
    shown["an invite's code"], shown["a bound invite's code"] = invite, bound.json()["codigo"]
    assert bound.json()["codigo"] in mail.outbox[-1].body
    assert APIClient().post(VALIDATE, {"codigo": invite}, format="json").status_code == 200
    assert api_as(user).post(f"/api/tokens/{invite}/use/", format="json").status_code == 200

    # API tokens: created, used, rotated.
    created = api_as(user).post("/api/api-tokens/", {"nome": "ci", "scope": "read"}, format="json").json()
    assert bearer(created["token"]).get("/api/t/whoami/").status_code == 200
    rotated = api_as(user).post(f"/api/api-tokens/{created['id']}/rotacionar/").json()
    shown["an API token"], shown["its rotation"] = created["token"], rotated["token"]

    # JWT sessions: a login, a wrong password, a refresh, a refresh token presented twice.
    client = APIClient()
    pair = post_login(client, user.get_username(), password).json()
    wrong = f"errada-{uuid.uuid4().hex}"
    assert post_login(client, user.get_username(), wrong).status_code == 401
    refreshed = post_refresh(client, pair["refresh"]).json()
    assert post_refresh(client, pair["refresh"]).status_code == 401
    shown |= {
        "an access token": pair["access"],
        "an access token's signature": pair["access"].rsplit(".", 1)[1],
        "a refresh token": pair["refresh"],
        "a wrong password": wrong,
        "a refreshed access token": refreshed["access"],
        "a refreshed refresh token": refreshed["refresh"],
    }

    # Two factors: enrolment, confirmation, backup codes, a login with one of them.
    enrolment = api_as(user).post("/api/2fa/totp/").json()
    seed = enrolment["segredo"]
    code = totp_code(seed)
    confirmed = api_as(user).post("/api/2fa/totp/confirmar/", {"codigo": code}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    TotpSecret.objects.update(last_t=-1)  # the step just spent may serve once more
    backup = api_as(user).post("/api/2fa/codigos-backup/", {"codigo": code}, format="json").json()["codigos"]
    proved = post_login(client, user.get_username(), password, otp=backup[0]).json()
    assert post_login(client, user.get_username(), password, otp=wrong_code(code)).status_code == 401
    shown |= {"the TOTP seed": seed, "a TOTP code": code, "a second factor's access token": proved["access"]}
    shown |= {f"backup code {n}": value for n, value in enumerate(backup)}

    # Authentication codes: issued, a wrong one, the right one (with the second factor proved).
    with_otp = bearer(proved["access"])
    assert with_otp.post("/api/codigos/", {}, format="json").status_code == 201
    auth_code = CODES_SENT[-1]
    assert with_otp.post("/api/codigos/validar/", {"codigo": wrong_code(auth_code)}, format="json").status_code == 400
    assert with_otp.post("/api/codigos/validar/", {"codigo": auth_code}, format="json").status_code == 200
    shown["an authentication code"] = auth_code

    deliver_all()
    saw = what_webhooks_saw(hooks)
    sent = {json.loads(request.body)["evento"] for request in hooks.requests}
    assert sent >= {
        "convite_gerado",
        "convite_enviado",
        "convite_validado",
        "convite_usado",
        "api_token_gerado",
        "api_token_usado",
        "api_token_rotacionado",
        "login",
        "login_falhou",
        "token_renovado",
        "refresh_reutilizado",
        "2fa_iniciado",
        "2fa_ativado",
        "codigos_backup_gerados",
        "codigo_gerado",
        "codigo_falhou",
        "codigo_validado",
    }, sent
    assert len(hooks.requests) == AuditEvent.objects.count() == WebhookDelivery.objects.count()
    stored = stored_secrets()
    assert sum(name.startswith("TotpSecret") for name in stored) == 1 and len(stored) > 15
    assert all(len(secret) >= 6 for secret in [*shown.values(), *stored.values()])
    assert leaks({**shown, **stored, "the webhook's secret": SECRET}, saw) == []


# -- retention ---------------------------------------------------------------------------------------------


def test_the_audit_purge_deletes_the_finished_deliveries_of_that_age(hooks):
    for n in range(4):
        test_done.send(sender=None, details={"n": n})
    old_delivered, old_dead, old_pending, new_delivered = WebhookDelivery.objects.order_by("id")
    old, now = timezone.now() - datetime.timedelta(days=40), timezone.now()
    WebhookDelivery.objects.filter(pk=old_delivered.pk).update(created_at=old, state="entregue", delivered_at=old)
    WebhookDelivery.objects.filter(pk=old_dead.pk).update(created_at=old, state="morta")
    WebhookDelivery.objects.filter(pk=old_pending.pk).update(created_at=old)  # still to be sent: kept
    WebhookDelivery.objects.filter(pk=new_delivered.pk).update(state="entregue", delivered_at=now)
    out = StringIO()
    call_command("convites_purge_audit", "--days", "30", stdout=out)
    assert "0 audit events and 2 finished webhook deliveries" in out.getvalue()
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {old_pending.pk, new_delivered.pk}
    assert AuditEvent.objects.count() == 4
