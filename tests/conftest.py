from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

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
