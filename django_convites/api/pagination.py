"""Cursor pages for the app's lists.

DRF answers 404 for a cursor it cannot decode, but takes the *position* inside a well-formed cursor on
trust and filters the ordering field by it: a tampered position that is not a value of that field
(``abc`` for an id, a non-date for ``created_at``, an integer past 64 bits, a date that leaves the
calendar when converted to UTC) raised in the database layer, a 500. Here the position is checked as a
value of the ordering field, for the database that will run the query, and any bad cursor is the same
404 ``not_found``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Field, Model, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView


def valid_position(model: type[Model], ordering: str, position: str, using: str) -> bool:
    """Whether ``position`` (a cursor's text) is a value the field named by ``ordering`` can filter on."""
    field = model._meta.get_field(ordering.lstrip("-"))
    if not isinstance(field, Field):
        # The reverse side of a relation: not a column a cursor can order by.
        return False
    try:
        value = field.to_python(position)
        if value is None:
            return False
        field.run_validators(value)
        if isinstance(value, datetime.datetime) and settings.USE_TZ:
            if timezone.is_naive(value):
                return False
            value.astimezone(datetime.timezone.utc)
        field.get_db_prep_value(value, connection=connections[using], prepared=False)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    return True


class ValidatedCursorPagination(CursorPagination):
    """A :class:`CursorPagination` that answers 404 for every bad cursor, its position included."""

    page_size = 50
    page_size_query_param = "limite"
    max_page_size = 200

    # The stub's BasePagination also takes a sequence; a CursorPagination orders what it pages, a queryset.
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self._queryset = queryset
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        ordering = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        queryset = self._queryset
        # The stub says int; DRF decodes the position from the query string, a str.
        position: str = cursor.position  # type: ignore[assignment]
        if not valid_position(queryset.model, ordering, position, queryset.db):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class CreatedAtPagination(ValidatedCursorPagination):
    """Cursor pages, newest first: the creation time orders them, the id breaks ties. Each list's query
    leads an index that ends in ``(created_at, id)``, so a page costs the same at any depth."""

    ordering = ("-created_at", "-id")
