"""Requests to a SQLite file that another connection holds locked (run by ``tests/test_database_busy.py``).

Run as ``python -m tests.locked_sqlite`` with ``DJANGO_SETTINGS_MODULE=tests.settings`` and
``DATABASE_URL=sqlite:///<file>?timeout=1``. It migrates the file, logs a ``gestor`` in (a JWT and a
session), then sends each request of :data:`REQUESTS` three times: while a second ``sqlite3`` connection
holds ``BEGIN IMMEDIATE`` (others may read, not write), while it holds ``BEGIN EXCLUSIVE`` (others may
not even read), and once it has let go. It prints one JSON object:
``{lock: {request: {status, retry_after, content_type, body}}}``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import django

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django.test import Client

LOCKS = ("IMMEDIATE", "EXCLUSIVE", None)


def requests(jwt: str, session: Client) -> dict[str, Callable[[], HttpResponse]]:
    """The requests to send, by name: the API with a JWT and with a session, and an HTML page."""
    from django.test import Client

    api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {jwt}")
    return {
        # The reported one: enrolling a TOTP device writes a device row.
        "api_enrol": lambda: api.post("/api/2fa/totp/", {}, content_type="application/json"),
        "api_issue_invite": lambda: api.post(
            "/api/tokens/", {"tipo_destino": "associado"}, content_type="application/json"
        ),
        # Only reads: IMMEDIATE lets it through; under EXCLUSIVE the session cannot even be read, in a
        # middleware before any view, so Django's handler500 answers.
        "api_list_with_session": lambda: session.get("/api/api-tokens/"),
        # An HTML page that writes (the invite), answered by the two-factor middleware.
        "page_issue_invite": lambda: session.post("/tokens/convites/gerar/", {"tipo_destino": "associado"}),
    }


def outcome(response: HttpResponse) -> dict[str, Any]:
    content_type = response.get("Content-Type", "")
    text = response.content.decode("utf-8", "replace")
    return {
        "status": response.status_code,
        "retry_after": response.get("Retry-After"),
        "content_type": content_type.split(";")[0],
        "body": json.loads(text) if content_type.startswith("application/json") else text,
    }


def main() -> None:
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tests.factories import browser_as, jwt_login, make_user

    call_command("migrate", run_syncdb=True, verbosity=0)
    user = make_user("gestor", role="gestor")
    jwt = jwt_login(user).access
    session = browser_as(user, raise_request_exception=False)
    path = connection.settings_dict["NAME"]
    connection.close()

    results: dict[str, dict[str, Any]] = {}
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        for lock in LOCKS:
            if lock:
                locker.execute(f"BEGIN {lock}")
            try:
                results[lock or "free"] = {name: outcome(send()) for name, send in requests(jwt, session).items()}
            finally:
                if lock:
                    locker.execute("ROLLBACK")
    finally:
        locker.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
