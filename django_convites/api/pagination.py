from __future__ import annotations

from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Cursor pages, newest first, ordered by the primary key: a page costs the same at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limite"
    max_page_size = 200


class InvitePagination(CursorPagination):
    """Cursor pages of invites, newest first (their ids are UUIDs, so the creation time orders them)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limite"
    max_page_size = 200
