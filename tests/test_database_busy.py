"""A locked database is 503 ``database_busy`` with ``Retry-After``, never a 500 (issue 11, finding 17).

The locked database is real: ``tests/locked_sqlite.py`` runs in a subprocess on a SQLite file (with a
one-second busy timeout) while a second ``sqlite3`` connection holds a lock on it, whatever database the
rest of the suite runs on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError, ProgrammingError

from django_convites.api.exceptions import ConvitesAPIException, as_api_exception
from django_convites.exceptions import DatabaseBusy, is_database_locked

REPO_ROOT = Path(__file__).resolve().parent.parent
BUSY = {"detail": "The database is busy. Try again in a moment.", "code": "database_busy"}


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    database = tmp_path_factory.mktemp("locked") / "db.sqlite3"
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}  # ATOMIC_REQUESTS passes
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{database}?timeout=1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.locked_sqlite"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
@pytest.mark.parametrize("request_name", ["api_enrol", "api_issue_invite"])
def test_an_api_write_to_a_locked_database_is_503_database_busy(locked, lock, request_name):
    outcome = locked[lock][request_name]
    assert (outcome["status"], outcome["retry_after"], outcome["body"]) == (503, "1", BUSY)


def test_a_read_goes_on_while_another_connection_writes(locked):
    assert locked["IMMEDIATE"]["api_list_with_session"]["status"] == 200


def test_a_session_that_cannot_be_read_is_503_from_handler500(locked):
    # Under EXCLUSIVE not even the session can be read: it fails in a middleware, before any view.
    outcome = locked["EXCLUSIVE"]["api_list_with_session"]
    assert (outcome["status"], outcome["retry_after"], outcome["body"]) == (503, "1", BUSY)


@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
def test_an_html_page_on_a_locked_database_is_a_503_page(locked, lock):
    outcome = locked[lock]["page_issue_invite"]
    assert (outcome["status"], outcome["retry_after"], outcome["content_type"]) == (503, "1", "text/html")
    assert BUSY["detail"] in outcome["body"]


def test_once_the_lock_is_released_the_same_requests_succeed(locked):
    assert {name: outcome["status"] for name, outcome in locked["free"].items()} == {
        "api_enrol": 201,
        "api_issue_invite": 201,
        "api_list_with_session": 200,
        "page_issue_invite": 201,
    }


def test_only_a_locked_database_is_database_busy():
    assert is_database_locked(OperationalError("database is locked"))
    assert is_database_locked(OperationalError("database table is locked: django_convites_invite"))
    for other in (
        OperationalError("no such table: django_convites_invite"),
        OperationalError("server closed the connection unexpectedly"),
        IntegrityError("database is locked"),
        ProgrammingError("database is locked"),
        RuntimeError("database is locked"),
        None,
    ):
        assert not is_database_locked(other), other


def test_the_api_keeps_every_other_operational_error_as_it_was():
    busy = as_api_exception(OperationalError("database is locked"))
    assert isinstance(busy, ConvitesAPIException)
    assert (busy.status_code, busy.detail.code, busy.wait) == (503, "database_busy", DatabaseBusy.retry_after)
    other = OperationalError("no such table: x")
    assert as_api_exception(other) is other  # unhandled: a 500, as before
