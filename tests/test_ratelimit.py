"""The one rate limiter of the API and the pages (``django_convites.ratelimit``), in the real test cache.

The cache is Django's local-memory cache of ``tests/settings.py``, emptied around every test by
``conftest._empty_cache``; a few tests switch the default cache to another backend with ``override_settings``.
"""

from __future__ import annotations

import ast
import json
import math
import threading
import time
from pathlib import Path

import pytest
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

import django_convites
from django_convites import checks, conf, ratelimit
from django_convites.conf import parse_rate
from django_convites.services import sessions
from tests.factories import make_user
from tests.invites import error_of

PACKAGE = Path(django_convites.__file__).resolve().parent
VALIDATE_API = "/api/tokens/validate/"
VALIDATE_PAGE = "/tokens/convites/validar/"

factory = RequestFactory()


def from_ip(address: str):
    return factory.post("/", REMOTE_ADDR=address)


def posting(username: object):
    return factory.post("/", {"username": username, "password": "x"})


def as_user(user):
    request = factory.post("/")
    request.user = user
    return request


# -- rates ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("60/minute", (60, 60)),
        ("5/s", (5, 1)),
        ("2/sec", (2, 1)),
        ("7/second", (7, 1)),
        ("3/m", (3, 60)),
        ("3/min", (3, 60)),
        ("100/hour", (100, 3600)),
        ("100/h", (100, 3600)),
        ("1000/day", (1000, 86400)),
        ("1/d", (1, 86400)),
    ],
)
def test_a_rate_is_a_count_and_a_period_in_seconds(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize(
    "rate", ["0/minute", "20/minutes", "60/fortnight", "many", "", "/minute", "5", " 5/s", "5/s ", "-1/s", 10, None]
)
def test_anything_else_is_no_rate(rate):
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(rate)
    # The settings check reads the same grammar.
    assert conf.ConvitesSettings.LOGIN_RATE.validate(rate) == (
        None
        if rate is None
        else "must be None or a rate such as '60/minute' (a count, then second, minute, hour or day)."
    )


def test_a_bad_rate_read_at_a_hit_is_improperly_configured(convites_settings):
    convites_settings(LOGIN_RATE="20/minutes")
    with pytest.raises(ImproperlyConfigured, match="E029"):
        ratelimit.LOGIN.hit(from_ip("198.51.100.1"))


def test_the_rate_is_read_at_every_hit(convites_settings):
    assert ratelimit.LOGIN.rate() == (20, 60)  # the default
    convites_settings(LOGIN_RATE="2/hour")
    assert ratelimit.LOGIN.rate() == (2, 3600)
    convites_settings(LOGIN_RATE=None)
    assert ratelimit.LOGIN.rate() is None


# -- counting ---------------------------------------------------------------------------------------------


def test_count_attempts_go_on_and_the_next_waits_for_the_window(convites_settings):
    convites_settings(LOGIN_RATE="3/minute")
    request = from_ip("198.51.100.1")
    assert [ratelimit.LOGIN.hit(request) for _ in range(3)] == [None, None, None]
    first = ratelimit.LOGIN.hit(request)
    assert first is not None and 59 < first <= 60
    second = ratelimit.LOGIN.hit(request)  # still refused, and the window did not move
    assert second is not None and second <= first


def test_a_refusal_waits_until_the_window_ends_then_a_new_one_opens(convites_settings):
    convites_settings(LOGIN_RATE="1/second")
    request = from_ip("198.51.100.1")
    assert ratelimit.LOGIN.hit(request) is None
    wait = ratelimit.LOGIN.hit(request)
    assert wait is not None and 0 < wait <= 1
    time.sleep(wait + 0.05)
    assert ratelimit.LOGIN.hit(request) is None
    assert ratelimit.LOGIN.hit(request) is not None


def test_a_rate_of_none_limits_nothing_and_reads_no_key(convites_settings):
    convites_settings(LOGIN_RATE=None)
    asked = []

    def key(request):
        asked.append(request)
        return "k"

    unlimited = ratelimit.RateLimit("convites_test", "LOGIN_RATE", key)
    assert all(unlimited.hit(from_ip("198.51.100.1")) is None for _ in range(100))
    assert asked == []
    assert unlimited.hit_key("k") is None


def test_no_key_is_counted_nowhere(convites_settings):
    convites_settings(LOGIN_USERNAME_RATE="1/minute")
    assert all(ratelimit.LOGIN_USERNAME.hit(posting("")) is None for _ in range(5))
    assert all(ratelimit.LOGIN_USERNAME.hit_key(None) is None for _ in range(5))


def test_hit_all_counts_every_limit_and_reports_the_longest_wait(convites_settings):
    convites_settings(LOGIN_RATE="2/minute", LOGIN_USERNAME_RATE="1/hour")
    assert ratelimit.hit_all(ratelimit.LOGIN_LIMITS, posting("usuario")) is None
    wait = ratelimit.hit_all(ratelimit.LOGIN_LIMITS, posting("usuario"))  # the username's budget is spent
    assert wait is not None and 3500 < wait <= 3600
    # Both limits counted both attempts: the address's budget is spent too, for another username.
    assert ratelimit.hit_all(ratelimit.LOGIN_LIMITS, posting("gestor")) is not None
    assert ratelimit.LOGIN.hit(posting("gestor")) is not None


def test_counting_holds_under_concurrent_attempts(convites_settings):
    convites_settings(LOGIN_RATE="5/minute")
    request = from_ip("198.51.100.1")
    start = threading.Barrier(20)
    answers: list[float | None] = []

    def attempt() -> None:
        start.wait()
        answers.append(ratelimit.LOGIN.hit(request))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(None) == 5


# -- keys -------------------------------------------------------------------------------------------------


def test_each_client_ip_has_its_own_budget(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="1/minute")
    assert ratelimit.INVITE_VALIDATION.hit(from_ip("198.51.100.1")) is None
    assert ratelimit.INVITE_VALIDATION.hit(from_ip("198.51.100.1")) is not None
    assert ratelimit.INVITE_VALIDATION.hit(from_ip("198.51.100.2")) is None
    # A header does not make another client: REMOTE_ADDR is the client (no TRUSTED_PROXIES).
    spoofed = factory.post("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert ratelimit.INVITE_VALIDATION.hit(spoofed) is not None


def test_each_limit_has_its_own_budget_for_one_key(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="1/minute", LOGIN_RATE="1/minute")
    request = from_ip("198.51.100.1")
    assert ratelimit.INVITE_VALIDATION.hit(request) is None
    assert ratelimit.LOGIN.hit(request) is None
    assert ratelimit.INVITE_VALIDATION.hit(request) is not None


def test_every_spelling_of_a_username_shares_one_budget(convites_settings):
    convites_settings(LOGIN_USERNAME_RATE="2/minute")
    assert ratelimit.LOGIN_USERNAME.hit(posting("usuario")) is None
    assert ratelimit.LOGIN_USERNAME.hit(posting(" USUARIO ")) is None
    assert ratelimit.LOGIN_USERNAME.hit(posting("ｕｓｕａｒｉｏ")) is not None  # full-width, NFKC-equal
    assert ratelimit.LOGIN_USERNAME.hit(posting("gestor")) is None


def test_the_username_key_of_a_form_post_is_the_one_the_api_counts():
    assert ratelimit.posted_username_key(posting(" Usuario ")) == sessions.username_key("usuario")
    # A JSON body is no form post: the API's throttle reads it from DRF's request.data and hands it over.
    body = factory.post("/", json.dumps({"username": "usuario"}), content_type="application/json")
    assert ratelimit.posted_username_key(body) is None


@pytest.mark.django_db
def test_each_user_has_their_own_budget_and_anonymous_requests_none(convites_settings):
    from django.contrib.auth.models import AnonymousUser

    convites_settings(TWO_FACTOR_RATE="1/minute")
    first, second = make_user("um"), make_user("dois")
    assert ratelimit.TWO_FACTOR.hit(as_user(first)) is None
    assert ratelimit.TWO_FACTOR.hit(as_user(first)) is not None
    assert ratelimit.TWO_FACTOR.hit(as_user(second)) is None
    assert all(ratelimit.TWO_FACTOR.hit(as_user(AnonymousUser())) is None for _ in range(3))
    assert ratelimit.user_key(as_user(first)) == str(first.pk)


def test_a_key_that_is_not_plain_is_hashed_into_the_cache_key():
    assert ratelimit.LOGIN.cache_key("198.51.100.1") == "convites:ratelimit:convites_login:198.51.100.1"
    assert ratelimit.LOGIN.cache_key("2001:db8::1") == "convites:ratelimit:convites_login:2001:db8::1"
    hashed = ratelimit.LOGIN.cache_key("fe80::1%a b")
    assert " " not in hashed and len(hashed.rsplit(":", 1)[1]) == 64
    assert ratelimit.LOGIN.cache_key("x" * 101) != ratelimit.LOGIN.cache_key("x" * 100)


def test_a_key_with_a_space_still_counts(convites_settings):
    convites_settings(LOGIN_RATE="1/minute")
    assert ratelimit.LOGIN.hit_key("fe80::1%a b") is None
    assert ratelimit.LOGIN.hit_key("fe80::1%a b") is not None


# -- caches -----------------------------------------------------------------------------------------------


def test_a_cache_without_atomic_increment_counts_and_keeps_the_window(convites_settings, tmp_path):
    # The file cache, like the database cache, has Django's generic incr: a get, then a set with the cache's
    # default timeout, here one second. The count must outlive it: it lives as long as the window.
    file_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
            "TIMEOUT": 1,
        }
    }
    convites_settings(LOGIN_RATE="2/hour")
    with override_settings(CACHES=file_cache):
        request = from_ip("198.51.100.1")
        assert [ratelimit.LOGIN.hit(request) for _ in range(2)] == [None, None]
        time.sleep(1.2)
        wait = ratelimit.LOGIN.hit(request)
        assert wait is not None and 3500 < wait <= 3600
        cache = caches[DEFAULT_CACHE_ALIAS]
        ends = cache.get(ratelimit.LOGIN.cache_key("198.51.100.1"))
        assert cache.get(f"{ratelimit.LOGIN.cache_key('198.51.100.1')}:{int(ends * 1000)}") == 3


def test_a_dummy_cache_limits_nothing(convites_settings):
    convites_settings(LOGIN_RATE="1/minute")
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        assert all(ratelimit.LOGIN.hit(from_ip("198.51.100.1")) is None for _ in range(5))


# -- the API and the pages spend the same limits ------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_and_the_page_share_the_validation_budget(client, api_client, convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="2/minute")
    assert api_client.get(VALIDATE_API, {"codigo": "x"}).status_code == 400
    assert client.post(VALIDATE_PAGE, {"codigo": "x"}).status_code == 400
    response = api_client.get(VALIDATE_API, {"codigo": "x"})
    error_of(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    page = client.post(VALIDATE_PAGE, {"codigo": "x"})
    assert page.status_code == 429 and 1 <= int(page["Retry-After"]) <= 60
    assert "Too many attempts" in page.content.decode()


def test_the_api_throttles_are_adapters_of_the_limits():
    from django_convites.api import throttling

    assert throttling.InviteValidationThrottle.limit is ratelimit.INVITE_VALIDATION
    assert throttling.LoginThrottle.limit is ratelimit.LOGIN
    assert throttling.LoginUsernameThrottle.limit is ratelimit.LOGIN_USERNAME
    assert throttling.TwoFactorThrottle.limit is ratelimit.TWO_FACTOR


def test_the_deployment_check_knows_every_limit():
    assert {limit.setting for limit in ratelimit.LIMITS} == set(checks.THROTTLE_RATES)


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("module", ["ratelimit.py", "views.py"])
def test_the_limiter_and_the_pages_need_no_drf(module):
    imported = _imported_modules(PACKAGE / module)
    assert not {name for name in imported if name.split(".")[0] == "rest_framework"}
    assert not {name for name in imported if name.startswith("django_convites.api")}


def test_retry_after_is_the_wait_rounded_up(convites_settings):
    convites_settings(LOGIN_RATE="1/minute")
    request = from_ip("198.51.100.1")
    ratelimit.LOGIN.hit(request)
    wait = ratelimit.LOGIN.hit(request)
    assert wait is not None and math.ceil(wait) in (59, 60)
