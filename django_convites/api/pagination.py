from __future__ import annotations

from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Cursor pages, newest first, ordered by the primary key: a page costs the same at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limite"
    max_page_size = 200


class CreatedAtPagination(CursorPagination):
    """Cursor pages newest first, for models with UUID keys (invites, API tokens): the creation time
    orders them, the id breaks ties."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limite"
    max_page_size = 200
