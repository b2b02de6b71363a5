"""Refused credentials are no cheap way to make the site write (issue 16; docs/audit.rst): a token's
refusals for one reason are recorded at most once a window, with ``tentativas``, and the refusals in
between cost the one query and no write."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from django_convites.models import ApiToken, AuditEvent, WebhookDelivery
from django_convites.services import api_tokens, sessions
from tests.factories import bearer, events, jwt_login, make_api_token, make_user, post_refresh
from tests.invites import error_of

pytestmark = pytest.mark.django_db

WHOAMI = "/api/t/whoami/"
REPLAYS = 5


def revoked(owner: Any) -> APIClient:
    created = make_api_token(owner, scope="write")
    api_tokens.revoke_api_token(created.token.pk, actor=owner)
    return bearer(created.secret)


def expired(owner: Any) -> APIClient:
    created = make_api_token(owner, scope="write")
    ApiToken.objects.filter(pk=created.token.pk).update(
        created_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(seconds=1)
    )
    return bearer(created.secret)


def wrong_ip(owner: Any) -> APIClient:
    created = make_api_token(owner, scope="write", allowed_ips=["192.0.2.0/24"])
    return bearer(created.secret, REMOTE_ADDR="198.51.100.7")


REFUSALS: list[tuple[Callable[[Any], APIClient], int, str]] = [
    (revoked, 401, "token_revoked"),
    (expired, 401, "token_expired"),
    (wrong_ip, 403, "ip_not_allowed"),
]
IDS = ["revoked", "expired", "wrong-ip"]


@pytest.fixture
def owner() -> Any:
    return make_user("dono")


def denied() -> list[AuditEvent]:
    return events("api_token_negado")


@pytest.mark.parametrize(("make", "status", "code"), REFUSALS, ids=IDS)
def test_replays_in_one_window_write_one_event(owner, make, status, code):
    client = make(owner)
    for _ in range(REPLAYS):
        error_of(client.get(WHOAMI), status, code)
    (event,) = denied()
    assert event.details == {"motivo": code, "tentativas": 1}
    assert event.actor == owner and event.target_type == "api_token"


@pytest.mark.parametrize(("make", "status", "code"), REFUSALS, ids=IDS)
def test_the_next_window_records_the_refusals_counted_in_between(owner, monkeypatch, make, status, code):
    monkeypatch.setattr(api_tokens, "REFUSAL_INTERVAL", timedelta(seconds=1))
    client = make(owner)
    for _ in range(REPLAYS):
        error_of(client.get(WHOAMI), status, code)
    assert [event.details["tentativas"] for event in denied()] == [1]
    time.sleep(1.1)  # the window's cache entry expires
    error_of(client.get(WHOAMI), status, code)
    # The second event stands for itself and the four refusals that were only counted.
    assert [event.details["tentativas"] for event in denied()] == [1, REPLAYS]
    error_of(client.get(WHOAMI), status, code)
    time.sleep(1.1)
    error_of(client.get(WHOAMI), status, code)
    assert [event.details["tentativas"] for event in denied()] == [1, REPLAYS, 2]
    assert sum(event.details["tentativas"] for event in denied()) == REPLAYS + 3


@pytest.mark.parametrize(("make", "status", "code"), REFUSALS, ids=IDS)
def test_a_refusal_in_a_window_costs_the_one_query_and_no_write(owner, assert_queries, make, status, code):
    client = make(owner)
    error_of(client.get(WHOAMI), status, code)
    before = AuditEvent.objects.count()
    with assert_queries(1):
        error_of(client.get(WHOAMI), status, code)
    assert AuditEvent.objects.count() == before


def test_credentials_are_not_merged(owner):
    first, second = revoked(owner), revoked(owner)
    for _ in range(3):
        error_of(first.get(WHOAMI), 401, "token_revoked")
        error_of(second.get(WHOAMI), 401, "token_revoked")
    assert sorted(event.target_id for event in denied()) == sorted(
        str(token.pk) for token in ApiToken.objects.filter(revoked_at__isnull=False)
    )
    assert len(denied()) == 2


def test_reasons_of_one_token_are_not_merged(owner):
    created = make_api_token(owner, scope="read", allowed_ips=["192.0.2.0/24"])
    inside = bearer(created.secret, REMOTE_ADDR="192.0.2.5")
    outside = bearer(created.secret, REMOTE_ADDR="198.51.100.7")
    for _ in range(3):
        error_of(outside.get(WHOAMI), 403, "ip_not_allowed")
        error_of(inside.post(WHOAMI, {}, format="json"), 403, "insufficient_scope")
        error_of(inside.delete(WHOAMI), 403, "insufficient_scope")
    assert [event.details for event in denied()] == [
        {"motivo": "ip_not_allowed", "tentativas": 1},
        {"motivo": "insufficient_scope", "necessario": "write", "tentativas": 1},
    ]
    api_tokens.revoke_api_token(created.token.pk, actor=owner)
    error_of(inside.get(WHOAMI), 401, "token_revoked")
    error_of(inside.get(WHOAMI), 401, "token_revoked")
    assert [event.details["motivo"] for event in denied()][-1] == "token_revoked"
    assert len(denied()) == 3


def test_the_valid_path_is_unchanged(owner, assert_queries):
    created = make_api_token(owner, scope="write")
    client = bearer(created.secret, REMOTE_ADDR="192.0.2.9")
    assert client.get(WHOAMI).status_code == 200
    with assert_queries(1):
        assert client.get(WHOAMI).status_code == 200
    error_of(revoked(owner).get(WHOAMI), 401, "token_revoked")
    assert client.get(WHOAMI).status_code == 200
    assert len(events("api_token_usado")) == 1
    assert ApiToken.objects.get(pk=created.token.pk).last_used_ip == "192.0.2.9"


def test_webhook_deliveries_follow_the_events(owner, convites_settings, monkeypatch):
    convites_settings(WEBHOOKS=[{"url": "https://hooks.example.com/convites", "secret": "segredo-do-receptor"}])
    monkeypatch.setattr(api_tokens, "REFUSAL_INTERVAL", timedelta(seconds=1))
    client = revoked(owner)
    for _ in range(REPLAYS):
        error_of(client.get(WHOAMI), 401, "token_revoked")
    time.sleep(1.1)
    error_of(client.get(WHOAMI), 401, "token_revoked")
    ids = {event.pk for event in denied()}
    assert len(ids) == 2
    assert WebhookDelivery.objects.filter(event_id__in=ids).count() == 2
    assert WebhookDelivery.objects.filter(event="api_token_negado").count() == 2


def test_without_a_shared_cache_every_refusal_is_recorded(owner):
    client = revoked(owner)
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        for _ in range(3):
            error_of(client.get(WHOAMI), 401, "token_revoked")
    assert [event.details["tentativas"] for event in denied()] == [1, 1, 1]


def test_a_failing_cache_records_every_refusal(owner, tmp_path: Path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    broken = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": blocker}}
    client = revoked(owner)
    with override_settings(CACHES=broken):
        for _ in range(3):
            error_of(client.get(WHOAMI), 401, "token_revoked")
    assert [event.details for event in denied()] == [{"motivo": "token_revoked", "tentativas": 1}] * 3
    assert "the cache failed" in caplog.text


def test_hostile_headers_are_refused_without_a_query_or_an_event(owner, assert_queries):
    client = APIClient()
    for header in ["Bearer cvp_" + "ç" * 40, "Bearer cvp_\x00", "Bearer " + "cvp_" * 500, "Bearer cvp_:n"]:
        with assert_queries(0):
            assert client.get(WHOAMI, HTTP_AUTHORIZATION=header).status_code == 401
    assert denied() == []


# -- JWT sessions write nothing per refused request --------------------------------------------------------


def test_refused_jwt_credentials_write_no_event_per_request(owner, assert_queries):
    pair = jwt_login(owner)
    client = APIClient()
    assert post_refresh(client, pair.refresh).status_code == 200
    for _ in range(REPLAYS):  # the spent refresh token: the first replay revokes the family, once
        assert post_refresh(client, pair.refresh).status_code == 401
    assert len(events("refresh_reutilizado")) == 1
    before = AuditEvent.objects.count()
    access = bearer(pair.access)
    for _ in range(REPLAYS):  # the access token of the revoked family
        error_of(access.get(WHOAMI), 401, "token_revoked")
    with assert_queries(1):
        error_of(access.get(WHOAMI), 401, "token_revoked")
    assert AuditEvent.objects.count() == before
    sessions.end_all_sessions(owner, reason="logout")


# -- many at once -------------------------------------------------------------------------------------------


@pytest.mark.parallel_db
def test_concurrent_refusals_in_one_window_write_one_event():
    from django_convites import coalesce
    from tests.parallel import THREADS, race

    owner = make_user("dono")
    created = make_api_token(owner, scope="write")
    api_tokens.revoke_api_token(created.token.pk, actor=owner)

    def work(index: int) -> None:
        response = bearer(created.secret, REMOTE_ADDR=f"198.51.100.{index + 1}").get(WHOAMI)
        assert response.status_code == 401

    assert race(work) == {"ok": THREADS}
    (event,) = AuditEvent.objects.filter(event="api_token_negado")
    assert event.details == {"motivo": "token_revoked", "tentativas": 1}
    from django.core.cache import cache

    counted = cache.get(coalesce.cache_key(f"api_token:{created.token.pk}:token_revoked") + ":n")
    assert counted == THREADS - 1
