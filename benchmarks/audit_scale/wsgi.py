"""Requests straight into Django's WSGI handler, with a prebuilt environ: what a WSGI server calls, minus
sockets."""

from __future__ import annotations

import io
import json
import sys
import urllib.parse
from collections.abc import Callable
from typing import Any

from benchmarks.audit_scale.databases import LARGE, ROUTE


def environ(path: str, query: str, header: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": header,
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(handler: Callable, env: dict) -> tuple[str, bytes]:
    status = []
    request = dict(env, **{"wsgi.input": io.BytesIO()})
    response = handler(request, lambda s, h, e=None: status.append(s))
    body = b"".join(response)
    response.close()
    return status[0], body


def deep_cursor(handler: Callable, header: str, pages: int = 50) -> str:
    """The query string of the page reached by following ``next`` ``pages`` times from the first, in the
    large log; the same query asks the small log for the page before the same moment."""
    ROUTE.alias = LARGE
    query = ""
    for _ in range(pages):
        status, body = call(handler, environ("/api/auditoria/", query, header))
        assert status.startswith("200"), (status, body[:300])
        query = urllib.parse.urlsplit(json.loads(body)["next"]).query
    return urllib.parse.unquote(query)


def capture(handler: Callable, alias: str, env: dict) -> tuple[str, bytes, list[tuple[str, Any]]]:
    """One request with every statement it runs (SQL and parameters, for ``EXPLAIN``)."""
    from django.db import connections

    seen: list[tuple[str, Any]] = []

    def record(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    ROUTE.alias = alias
    with connections[alias].execute_wrapper(record):
        status, body = call(handler, env)
    return status, body, seen
