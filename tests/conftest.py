from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from django_convites import signals
from django_convites.conf import SETTING_NAME, user_settings
from tests.factories import users_by_role


@pytest.fixture
def convites_settings() -> Iterator[Callable[..., None]]:
    """Merge keys onto the current DJANGO_CONVITES for the rest of the test."""
    overrides: list[Any] = []

    def apply(**keys: Any) -> None:
        merged = {**user_settings(), **keys}
        override = override_settings(**{SETTING_NAME: merged})
        override.enable()
        overrides.append(override)

    yield apply
    for override in reversed(overrides):
        override.disable()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def users(db: None) -> dict[str, Any]:
    """One user per role, named after it."""
    return users_by_role()


@pytest.fixture
def atomic_requests() -> bool:
    return bool(settings.DATABASES["default"].get("ATOMIC_REQUESTS"))


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if item.get_closest_marker("postgres_only") or item.get_closest_marker("parallel_db"):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(autouse=True)
def _postgres_only(request: Any) -> None:
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    if request.node.get_closest_marker("parallel_db") and connection.vendor not in {"postgresql", "mysql"}:
        pytest.skip("needs a database server (PostgreSQL or MySQL) for real parallel connections")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Throttle counters live in the cache: every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)


@pytest.fixture
def assert_queries() -> Callable[[int], Any]:
    """Like ``django_assert_num_queries``, without the savepoints that ``ATOMIC_REQUESTS`` wraps a host
    view in: the count is the work of the code under test."""

    @contextmanager
    def check(expected: int) -> Iterator[CaptureQueriesContext]:
        with CaptureQueriesContext(connection) as captured:
            yield captured
        real = [query["sql"] for query in captured.captured_queries if not _SAVEPOINT.match(query["sql"])]
        assert len(real) == expected, f"expected {expected} queries, got {len(real)}: {real}"

    return check


# -- every event's ``details`` keys are the ones its signal declares (docs/events.rst) --------------------

#: The app's own domain signals, those ``django_convites.signals`` declares: the event catalogue covers
#: them. The suite's own (``teste_feito`` in tests/urls.py) and a host's carry what they like.
APP_SIGNALS = frozenset(value for value in vars(signals).values() if isinstance(value, signals.DomainSignal))

#: Keys that receivers of ``two_factor_enabling`` outside the app (a host site's, a test's) returned for the
#: coming ``2fa_ativado`` of this thread. That event's ``details`` merge every receiver's answer: the app
#: declares the keys of its own receivers and of ``confirm_totp``, and docs/events.rst says that a site's
#: receivers add keys of their own. So the check lets through exactly the keys a receiver outside
#: ``django_convites`` returned (seen by wrapping ``two_factor_enabling.send``), and nothing else: an
#: undeclared key of the app's still fails.
_site_enabling_keys: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "tests_site_enabling_keys", default=frozenset()
)

#: Undeclared keys seen during the current test: a receiver's AssertionError may be caught on its way up
#: (a sign-up turns a failing ``invite_used`` receiver into 503 ``signup_failed``), so the test fails anyway.
_undeclared: list[str] = []


def _is_app_receiver(receiver: Any) -> bool:
    return str(getattr(receiver, "__module__", "")).startswith("django_convites.")


def _remember_site_keys(send: Callable[..., list[tuple[Any, Any]]]) -> Callable[..., list[tuple[Any, Any]]]:
    """``two_factor_enabling.send``, noting which keys of the answers come from receivers outside the app."""

    def send_and_remember(sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        responses = send(sender, **named)
        site_keys = {
            key
            for receiver, answer in responses
            if not _is_app_receiver(receiver) and isinstance(answer, Mapping)
            for key in answer
        }
        _site_enabling_keys.set(frozenset(site_keys))
        return responses

    return send_and_remember


def _check_details_keys(signal: signals.DomainSignal, **kwargs: Any) -> None:
    """Connected to every domain signal: refuse a ``details`` key its signal does not declare."""
    if signal not in APP_SIGNALS:
        return
    allowed = signal.details
    if signal is signals.two_factor_enabled:
        allowed |= _site_enabling_keys.get()
        _site_enabling_keys.set(frozenset())
    for key in kwargs.get("details") or {}:
        if key not in allowed:
            problem = f"{signal.event} was sent with the details key {key!r}, which its DomainSignal does not declare"
            _undeclared.append(problem)
            raise AssertionError(problem)


def pytest_configure(config: Any) -> None:
    # Instance attribute: only this signal's send is wrapped, and only for the test run.
    signals.two_factor_enabling.send = _remember_site_keys(signals.two_factor_enabling.send)
    signals.DomainSignal.connect_every(_check_details_keys, dispatch_uid="tests-details-keys")


@pytest.fixture(autouse=True)
def _declared_details_keys_only() -> Iterator[None]:
    _undeclared.clear()
    yield
    problems = list(_undeclared)
    _undeclared.clear()
    assert not problems, problems
