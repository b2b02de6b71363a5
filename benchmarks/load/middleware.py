"""Counts the SQL statements of each request and says how many in the ``X-Load-Queries`` response header, for
the load's per-endpoint queries per request. Outermost in the run's ``MIDDLEWARE``, so it counts what every
middleware, the authentication and the view run (not what runs after the response is made)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

HEADER = "X-Load-Queries"


def count_queries(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        count = 0

        def counted(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            response = get_response(request)
        response[HEADER] = str(count)
        return response

    return middleware
