"""Delivering the webhook outbox to a real receiver on the loopback interface (docs/webhooks.rst): the
signed request, the documented receiver's check, retries with backoff, dead letters, sending again,
private addresses, redirects and the management command."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_convites.audit import Target
from django_convites.exceptions import NotAllowed, NotFound
from django_convites.models import AuditEvent, DeliveryState, WebhookDelivery
from django_convites.services import webhooks as outbox
from tests.factories import events
from tests.urls import test_done
from tests.webhook_receiver import Answer, Receiver, dribbling
from tests.webhook_recipe import verify

pytestmark = pytest.mark.django_db

SECRET = "segredo-do-receptor-1"
NEW_SECRET = "segredo-novo-do-receptor"
SIGNATURE = re.compile(r"t=(\d+)((?:,v1=[0-9a-f]{64})+)")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def endpoint(receiver: Receiver, convites_settings: Any) -> Any:
    """Point ``WEBHOOKS`` at the receiver (``path``: the URL's path and query), private addresses allowed."""

    def configure(path: str = "/hook", *, secret: Any = SECRET, **more: Any) -> str:
        url = receiver.url(path)
        convites_settings(WEBHOOKS=[{"url": url, "secret": secret}], WEBHOOK_ALLOW_PRIVATE_URLS=True, **more)
        return url

    return configure


def event_with_delivery(**details: Any) -> WebhookDelivery:
    test_done.send(sender=None, target=Target("coisa", "7"), details=details)
    return WebhookDelivery.objects.latest("id")


def make_due(*rows: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(next_attempt_at=timezone.now())


def fresh(row: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=row.pk)


# -- the request -------------------------------------------------------------------------------------------


def test_a_delivery_is_a_signed_post_of_its_payload(receiver, endpoint):
    endpoint("/hook/abc?k=1")
    row = event_with_delivery(n=1)
    before = int(time.time())
    report = outbox.deliver_due()
    after = time.time()
    assert (report.delivered, report.failed, report.dead, report.ids) == (1, 0, 0, [row.pk])
    (request,) = receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/hook/abc?k=1", row.payload.encode())
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Convites-Evento"] == "teste_feito"
    assert request.headers["X-Convites-Entrega"] == str(row.pk)
    assert request.headers["User-Agent"].startswith("django-convites/")
    match = SIGNATURE.fullmatch(request.headers["X-Convites-Assinatura"])
    assert match, request.headers["X-Convites-Assinatura"]
    stamp = int(match.group(1))
    assert before <= stamp <= after
    (signed,) = match.group(2).split(",v1=")[1:]
    assert signed == hmac.new(SECRET.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    row = fresh(row)
    assert (row.state, row.attempts, row.last_status, row.last_error) == (DeliveryState.DELIVERED, 1, 200, "")
    assert row.leased_until is None and row.delivered_at is not None
    assert outbox.deliver_due().attempted == 0  # delivered: never sent again by a worker


def test_two_secrets_give_two_signatures_each_verifiable(receiver, endpoint):
    endpoint(secret=[NEW_SECRET, SECRET])
    event_with_delivery()
    outbox.deliver_due()
    (request,) = receiver.requests
    header = request.headers["X-Convites-Assinatura"]
    match = SIGNATURE.fullmatch(header)
    assert match
    stamp, values = match.group(1), match.group(2).split(",v1=")[1:]
    message = f"{stamp}.".encode() + request.body
    assert values == [hmac.new(key.encode(), message, hashlib.sha256).hexdigest() for key in (NEW_SECRET, SECRET)]
    assert verify(request.body, header, NEW_SECRET)
    assert verify(request.body, header, SECRET)
    assert not verify(request.body, header, "um-terceiro-segredo-qualquer")


def test_the_documented_receiver_verifies_a_real_delivery_and_nothing_else(receiver, endpoint):
    endpoint()
    event_with_delivery(texto="a\u00e7\u00e3o")
    outbox.deliver_due()
    (request,) = receiver.requests
    body, header = request.body, request.headers["X-Convites-Assinatura"]
    stamp = int(header.split(",")[0].removeprefix("t="))
    assert verify(body, header, SECRET)
    assert verify(body, header, SECRET, now=stamp + 300)
    assert not verify(body.replace(b"teste_feito", b"teste_feitx"), header, SECRET)  # tampered body
    assert not verify(body + b" ", header, SECRET)
    assert not verify(body, header, "outro-segredo-de-16+")  # wrong secret
    assert not verify(body, header, SECRET, now=stamp + 301)  # older than five minutes: a replay
    assert not verify(body, header, SECRET, now=stamp - 301)  # from the future
    other_stamp = header.replace(f"t={stamp}", f"t={stamp + 1}")
    assert not verify(body, other_stamp, SECRET, now=stamp)  # the time is signed too
    for broken in ["", "v1=" + "0" * 64, f"t={stamp}", f"t=x{stamp},v1=00", f"t={stamp},t={stamp},{header}"]:
        assert not verify(body, broken, SECRET, now=stamp)
    assert not verify(body, f"t={stamp},v1=\u00e9\u00e9", SECRET, now=stamp)  # no exception either
    assert not verify(body, f"t=\u0661\u0662,{header}", SECRET, now=stamp)  # digits, but not ASCII ones


# -- retries and backoff -----------------------------------------------------------------------------------


def assert_backoff(row: WebhookDelivery, before: datetime.datetime, after: datetime.datetime, n: int) -> None:
    """The n-th failure of ``row`` (recorded between ``before`` and ``after``) set its next attempt within
    [half, all] of the base delay (10 s) doubled n - 1 times."""
    ceiling = datetime.timedelta(seconds=10 * 2 ** (n - 1))
    assert before + ceiling / 2 <= row.next_attempt_at <= after + ceiling, (n, row.next_attempt_at - before)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(receiver, endpoint):
    endpoint(WEBHOOK_TIMEOUT=1, WEBHOOK_RETRY_DELAY=10)
    row = event_with_delivery()
    receiver.answer(Answer(status=500), Answer(pause=5))  # then the default: 200

    before = timezone.now()
    assert outbox.deliver_due().failed == 1
    row = fresh(row)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, 500)
    assert row.last_error == "the receiver answered 500, an error"
    assert row.leased_until is None
    assert_backoff(row, before, timezone.now(), 1)
    assert outbox.deliver_due().attempted == 0  # not due yet

    make_due(row)
    before, started = timezone.now(), time.monotonic()
    assert outbox.deliver_due().failed == 1
    assert 1 <= time.monotonic() - started < 3  # cut off at WEBHOOK_TIMEOUT, not after the receiver's 5 s
    row = fresh(row)
    assert (row.attempts, row.last_status, row.last_error) == (2, None, "no answer within 1 s")
    assert_backoff(row, before, timezone.now(), 2)

    make_due(row)
    with receiver.down():
        before = timezone.now()
        assert outbox.deliver_due().failed == 1
    row = fresh(row)
    assert (row.attempts, row.last_status) == (3, None)
    assert row.last_error.startswith(f"cannot connect to 127.0.0.1:{receiver.port}: ")
    assert "refused" in row.last_error.lower()
    assert_backoff(row, before, timezone.now(), 3)
    assert len(receiver.requests) == 2

    make_due(row)
    assert outbox.deliver_due().delivered == 1
    row = fresh(row)
    assert (row.state, row.attempts, row.last_status, row.last_error) == (DeliveryState.DELIVERED, 4, 200, "")
    # Every attempt sent the same bytes, the same delivery id and the same event id.
    assert len(receiver.requests) == 3
    assert {request.body for request in receiver.requests} == {row.payload.encode()}
    assert {request.delivery for request in receiver.requests} == {str(row.pk)}
    assert json.loads(row.payload)["id"] == row.event_id


def test_the_waits_are_jittered_and_capped(receiver, endpoint):
    endpoint(WEBHOOK_RETRY_DELAY=10)
    receiver.default = Answer(status=503)
    rows = [event_with_delivery(n=n) for n in range(20)]
    before = timezone.now()
    assert outbox.deliver_due().failed == 20
    after = timezone.now()
    retries = [row.next_attempt_at for row in map(fresh, rows)]
    for row in map(fresh, rows):
        assert_backoff(row, before, after, 1)
    # Drawn from five seconds (half of ten to all of it): without jitter they would be as close together as
    # the attempts were; with it, twenty draws all within two seconds of each other would be a wonder.
    assert max(retries) - min(retries) > datetime.timedelta(seconds=2) > after - before
    # The doubling stops at a day.
    endpoint(WEBHOOK_RETRY_DELAY=3600)
    hour = datetime.timedelta(hours=1)
    first = [outbox._retry_delay(1) for _ in range(50)]
    assert all(hour / 2 <= wait <= hour for wait in first) and len(set(first)) == 50
    assert 8 * hour <= outbox._retry_delay(5) <= 16 * hour
    for attempts in (6, 7, 30, 40, 1000):  # 32 hours and more: a day
        assert 12 * hour <= outbox._retry_delay(attempts) <= 24 * hour


def test_a_receiver_that_answers_byte_by_byte_is_cut_off_at_the_timeout(convites_settings):
    with dribbling(every=0.2) as port:
        url = f"http://127.0.0.1:{port}/hook"
        convites_settings(WEBHOOKS=[{"url": url, "secret": SECRET}], WEBHOOK_ALLOW_PRIVATE_URLS=True, WEBHOOK_TIMEOUT=1)
        row = event_with_delivery()
        started = time.monotonic()
        assert outbox.deliver_due().failed == 1
        assert 1 <= time.monotonic() - started < 3  # the whole answer would take about 12 s
    row = fresh(row)
    assert (row.last_status, row.last_error) == (None, "no answer within 1 s")


def test_a_url_no_longer_configured_is_a_failure_without_a_request(receiver, endpoint, convites_settings):
    endpoint()
    row = event_with_delivery()
    convites_settings(WEBHOOKS=[{"url": receiver.url("/other"), "secret": SECRET}])
    assert outbox.deliver_due().failed == 1
    assert fresh(row).last_error == "no endpoint of WEBHOOKS has this URL any more"
    assert receiver.connections == 0


# -- dead letters, sending again ---------------------------------------------------------------------------


def test_the_last_failed_attempt_makes_a_dead_letter_and_one_webhook_falhou(receiver, endpoint):
    url = endpoint("/hook/abc?chave=nao-mostrar", WEBHOOK_MAX_ATTEMPTS=3)
    receiver.default = Answer(status=500)
    row = event_with_delivery()
    for attempt in (1, 2):
        assert outbox.deliver_due().failed == 1
        assert fresh(row).attempts == attempt
        assert not events("webhook_falhou")
        make_due(row)
    report = outbox.deliver_due()
    assert (report.delivered, report.failed, report.dead) == (0, 0, 1)
    row = fresh(row)
    assert (row.state, row.attempts, row.last_status, row.leased_until) == (DeliveryState.DEAD, 3, 500, None)
    (dead,) = events("webhook_falhou")
    assert (dead.actor, dead.target_type, dead.target_id) == (None, "webhook", str(row.pk))
    assert dead.details == {
        "entrega": row.pk,
        "evento": "teste_feito",
        "evento_id": row.event_id,
        "destino": f"http://127.0.0.1:{receiver.port}",
        "tentativas": 3,
        "erro": "the receiver answered 500, an error",
    }
    assert url.startswith(dead.details["destino"] + "/") and "chave" not in json.dumps(dead.details)
    assert not WebhookDelivery.objects.filter(event="webhook_falhou").exists()
    make_due(row)
    assert outbox.deliver_due().attempted == 0  # dead: no worker sends it again
    assert len(receiver.requests) == 3


def run(*args: str) -> str:
    out = StringIO()
    call_command("convites_deliver_webhooks", *args, stdout=out)
    return out.getvalue()


def test_redeliver_sends_a_dead_or_pending_delivery_now(receiver, endpoint):
    endpoint("/hook?chave=nao-mostrar", WEBHOOK_MAX_ATTEMPTS=1)
    receiver.answer(Answer(status=500))
    dead = event_with_delivery()
    assert outbox.deliver_due().dead == 1
    pending = event_with_delivery()
    WebhookDelivery.objects.filter(pk=pending.pk).update(next_attempt_at=timezone.now() + datetime.timedelta(hours=1))

    for row in (dead, pending):
        output = run("--redeliver", str(row.pk))
        assert output == f"Delivered {row.pk} to http://127.0.0.1:{receiver.port} (HTTP 200).\n"
        assert (fresh(row).state, fresh(row).last_status) == (DeliveryState.DELIVERED, 200)
    assert [request.delivery for request in receiver.requests] == [str(dead.pk), str(dead.pk), str(pending.pk)]
    assert fresh(dead).attempts == 2 and fresh(pending).attempts == 1


def test_redeliver_reports_a_failure_an_unknown_id_and_a_row_a_worker_holds(receiver, endpoint):
    endpoint(WEBHOOK_MAX_ATTEMPTS=3)
    row = event_with_delivery()
    receiver.answer(Answer(status=502))
    with pytest.raises(CommandError, match=rf"^Delivery {row.pk} failed \(pending, retried later\): .*502"):
        run("--redeliver", str(row.pk))
    assert (fresh(row).state, fresh(row).attempts) == (DeliveryState.PENDING, 1)

    with pytest.raises(CommandError, match="No webhook delivery has the id 987654321"):
        run("--redeliver", "987654321")
    with pytest.raises(NotFound):
        outbox.redeliver("nada")

    make_due(row)
    (claimed,) = outbox.claim(1)  # a worker holds it now
    with pytest.raises(CommandError, match=f"delivery {row.pk} is being sent by a worker right now"):
        run("--redeliver", str(row.pk))
    assert len(receiver.requests) == 1
    assert fresh(row).leased_until == claimed.leased_until  # the worker's claim is untouched


def test_redeliver_and_requeue_by_a_user_follow_the_policy(receiver, endpoint, users):
    endpoint()
    test_done.send(sender=None, actor=users["usuario"])
    own = WebhookDelivery.objects.get()
    with pytest.raises(NotAllowed):
        outbox.redeliver(own.pk, actor=users["usuario"])  # reading others' events is root's and admin's
    assert outbox.requeue([own], actor=users["usuario"]) == 0
    assert outbox.redeliver(own.pk, actor=users["admin"]).state == DeliveryState.DELIVERED


def test_requeue_makes_finished_rows_due_again_with_a_fresh_count(receiver, endpoint):
    endpoint(WEBHOOK_MAX_ATTEMPTS=2)
    receiver.default = Answer(status=500)
    rows = [event_with_delivery(n=n) for n in range(3)]
    outbox.deliver_due()
    make_due(*rows)
    outbox.deliver_due()
    assert {fresh(row).state for row in rows} == {DeliveryState.DEAD}
    make_due(*rows)
    WebhookDelivery.objects.filter(pk=rows[2].pk).update(state=DeliveryState.PENDING)
    (held,) = outbox.claim(1)  # rows[2], held by a worker: left alone
    assert held.pk == rows[2].pk

    assert outbox.requeue(WebhookDelivery.objects.all()) == 2
    for row in map(fresh, rows[:2]):
        assert (row.state, row.attempts, row.delivered_at) == (DeliveryState.PENDING, 0, None)
        assert row.next_attempt_at <= timezone.now()
    assert fresh(rows[2]).attempts == 2
    receiver.default = Answer()
    assert outbox.deliver_due().delivered == 2


# -- where a request may go --------------------------------------------------------------------------------


def test_private_addresses_are_refused_without_connecting_unless_allowed(receiver, convites_settings):
    urls = [
        receiver.url("/hook"),
        receiver.url("/hook", host="localhost"),
        f"http://[::1]:{receiver.port}/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/hook",
    ]
    convites_settings(WEBHOOKS=[{"url": url, "secret": SECRET} for url in urls])  # default: not allowed
    event_with_delivery()
    started = time.monotonic()
    assert outbox.deliver_due().failed == len(urls)
    assert time.monotonic() - started < 3  # nothing waited on a connection (5 s each)
    for row in WebhookDelivery.objects.all():
        assert row.last_status is None
        assert "non-public address" in row.last_error and "WEBHOOK_ALLOW_PRIVATE_URLS" in row.last_error, row.url
    assert (receiver.connections, receiver.requests) == (0, [])

    convites_settings(WEBHOOKS=[{"url": url, "secret": SECRET} for url in urls[:2]], WEBHOOK_ALLOW_PRIVATE_URLS=True)
    WebhookDelivery.objects.exclude(url__in=urls[:2]).delete()
    make_due(*WebhookDelivery.objects.all())
    assert outbox.deliver_due().delivered == 2
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failure_and_is_not_followed(receiver, endpoint, status):
    endpoint()
    receiver.answer(Answer(status=status, headers={"Location": receiver.url("/elsewhere")}))
    row = event_with_delivery()
    assert outbox.deliver_due().failed == 1
    row = fresh(row)
    assert (row.state, row.last_status) == (DeliveryState.PENDING, status)
    assert row.last_error == f"the receiver answered {status}, a redirect (not followed)"
    time.sleep(0.2)  # a redirect followed would arrive now
    assert [request.path for request in receiver.requests] == ["/hook"]


# -- the management command --------------------------------------------------------------------------------


def test_the_command_delivers_what_is_due_and_prints_the_counts(receiver, endpoint):
    endpoint(WEBHOOK_MAX_ATTEMPTS=2)
    rows = [event_with_delivery(n=n) for n in range(4)]
    WebhookDelivery.objects.filter(pk=rows[0].pk).update(attempts=1)  # its last attempt
    receiver.answer(Answer(status=500), Answer(status=500))  # rows[0] dies, rows[1] is retried later
    assert run("--batch", "1") == "Delivered 2, failed 1 (retried later), dead 1.\n"
    assert [fresh(row).state for row in rows] == ["morta", "pendente", "entregue", "entregue"]
    assert run() == "Delivered 0, failed 0 (retried later), dead 0.\n"
    assert AuditEvent.objects.filter(event="webhook_falhou").count() == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--batch", "0"],
        ["--batch", "x"],
        ["--loop", "--interval", "0"],
        ["--loop", "--interval", "3601"],
        ["--redeliver", "abc"],
        ["--nada"],
    ],
)
def test_the_command_refuses_bad_arguments(receiver, endpoint, args):
    endpoint()
    event_with_delivery()
    with pytest.raises(CommandError):
        run(*args)
    assert receiver.connections == 0
    assert WebhookDelivery.objects.get().attempts == 0
