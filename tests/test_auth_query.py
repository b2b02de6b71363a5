"""The one query of an authenticated request (``django_convites/_db/user_rows.py``) and the threads it runs in.

Each user model a site may have (UUID key, ``db_column``, e-mail login, multi-table inheritance) is tested
in ``tests/user_models/``, under settings of its own.
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest
from django.db import connections

from django_convites.conf import clear_caches
from django_convites.models import SessionFamily
from django_convites.services import api_tokens, sessions


def in_a_thread(work: Any) -> tuple[Any, weakref.ref[Any]]:
    """What ``work()`` returns in a thread of its own, and a weak reference to that thread's connection."""
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["result"] = work()
            done["connection"] = weakref.ref(connections["default"])
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return done["result"], done["connection"]


@pytest.mark.django_db(transaction=True)
def test_no_connection_outlives_its_thread_in_the_cached_query(django_user_model):
    """The SQL is kept per database; the converters are the connection's of each call. A cache that kept
    the converters of the thread that compiled the query would keep that thread's connection alive."""
    user = django_user_model.objects.create_user(username="ana", password="x")
    created = api_tokens.create_api_token(user=user, scope="read")
    family = SessionFamily.objects.create(user=user)
    clear_caches()

    found, connection = in_a_thread(lambda: api_tokens.authenticate(created.secret)[0])
    gc.collect()
    assert found == user
    assert connection() is None

    lookup = sessions._lookup("default")
    found, connection = in_a_thread(lambda: lookup.fetch(family.pk, user.pk)[1])
    gc.collect()
    assert found == user
    assert connection() is None

    assert api_tokens.authenticate(created.secret)[0] == user
    assert lookup.fetch(family.pk, user.pk)[1] == user


@pytest.mark.django_db
def test_the_row_comes_back_in_the_order_asked_with_the_orms_values(django_user_model):
    user = django_user_model.objects.create_user(username="ana", password="x")
    created = api_tokens.create_api_token(user=user, scope="write", allowed_ips=["10.0.0.0/8"])
    row, found = api_tokens._lookup("default").fetch(created.token.digest)
    token = type(created.token).objects.get(pk=created.token.pk)
    assert row == [token.id, token.scope, token.expires_at, token.revoked_at, token.last_used_at, token.allowed_ips]
    assert token.allowed_ips == ["10.0.0.0/8"]
    assert found == user and found.get_deferred_fields() == set()
    assert api_tokens._lookup("default").fetch("0" * 64) is None
