"""The rate limits when the cache that counts them is down: a real Redis client, pointed at a loopback
port where no Redis listens, so every cache call fails as it does when a site's Redis stops.

The limits fail closed (docs/deployment.rst, "When Redis is down"): what spends a limit is refused with
503 ``rate_limit_unavailable`` and ``Retry-After`` before it is tried, never a 500; what spends none goes on.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_convites.exceptions import RateLimitUnavailable
from django_convites.models import AuditEvent, Invite, SessionFamily
from tests.factories import bearer, jwt_login, make_api_token, make_user, post_login, post_refresh
from tests.invites import error_of

WHOAMI = "/api/t/whoami/"
SITE_LOGIN = "/entrar/"
VALIDATE_API = "/api/tokens/validate/"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_down() -> Iterator[None]:
    location = f"redis://127.0.0.1:{closed_port()}/0"
    cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
    with override_settings(CACHES=cache):
        yield


@pytest.fixture
def member(db: None) -> Any:
    return make_user("membro", role="usuario")


def assert_unavailable(response: Any) -> None:
    error_of(response, 503, RateLimitUnavailable.code)
    assert response["Retry-After"] == str(RateLimitUnavailable.retry_after)


def test_the_jwt_login_is_refused_before_the_password_is_checked(api_client, member, redis_down, caplog):
    assert_unavailable(post_login(api_client, "membro"))
    assert_unavailable(post_login(api_client, "membro", "wrong password"))
    # Not tried: no session, no login event, no failed-login event.
    assert not SessionFamily.objects.exists()
    assert not AuditEvent.objects.filter(event__in=["login", "login_falhou"]).exists()
    warnings = [record for record in caplog.records if "the cache failed" in record.getMessage()]
    assert warnings and all(record.exc_info is None for record in warnings)  # one line each, no traceback
    assert "ConnectionError" in warnings[0].getMessage()


def test_a_login_whose_limits_are_off_needs_no_cache(api_client, member, redis_down, convites_settings):
    convites_settings(LOGIN_RATE=None, LOGIN_USERNAME_RATE=None)
    assert post_login(api_client, "membro").status_code == 200


def test_api_tokens_jwts_and_refreshes_spend_no_limit_and_go_on(api_client, member, redis_down):
    token = make_api_token(member, "read")
    pair = jwt_login(member)
    assert bearer(token.secret).get(WHOAMI).status_code == 200
    assert bearer(pair.access).get(WHOAMI).status_code == 200
    assert post_refresh(api_client, pair.refresh).status_code == 200


def test_invite_validation_is_refused_and_changes_nothing(api_client, member, redis_down):
    before = (Invite.objects.count(), AuditEvent.objects.count())
    response = api_client.post(VALIDATE_API, {"codigo": "cvi_" + "a" * 43}, format="json")
    assert_unavailable(response)
    assert (Invite.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.urls("tests.test_security_sessions")
def test_the_login_page_answers_a_page_with_503_not_a_500(client, member, redis_down):
    response = client.post(SITE_LOGIN, {"username": "membro", "password": "whatever"})
    assert response.status_code == 503
    assert response["Retry-After"] == str(RateLimitUnavailable.retry_after)
    assert response["Content-Type"].startswith("text/html")
    assert str(RateLimitUnavailable.default_detail) in response.content.decode()
    assert "whatever" not in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(event__in=["login", "login_falhou"]).exists()
