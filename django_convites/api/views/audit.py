"""The audit lists (``GET /api/auditoria/`` and the ``logs/`` of an invite or an API token, one code for all
three) and the access history (``GET /api/auditoria/acessos/``); docs/audit.rst."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView, ConvitesGenericAPIView
from django_convites.api.pagination import CreatedAtPagination
from django_convites.api.schema import document, query_of
from django_convites.api.serializers.audit import (
    AccessHistoryFilterSerializer,
    AccessHistorySerializer,
    AuditEventSerializer,
    AuditFilterSerializer,
)
from django_convites.audit import EventFilter, events_visible_to
from django_convites.models import AuditEvent
from django_convites.services.access_history import access_history


class EventListView(ConvitesGenericAPIView[AuditEvent]):
    """A page of events, newest first, narrowed by the query string (:class:`AuditFilterSerializer`)."""

    permission_classes = [IsAuthenticated]
    pagination_class = CreatedAtPagination
    serializer_class = AuditEventSerializer
    #: Only for the browsable API, whose filter form asks for one; ``get`` lists what the service allows.
    queryset = AuditEvent.objects.none()

    def wanted(self) -> EventFilter:
        filters = AuditFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return filters.event_filter()

    def page_of(self, events: QuerySet[AuditEvent]) -> Response:
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)


class AuditEventListView(EventListView):
    """``GET /api/auditoria/``: one's own events; root and admin see everyone's (docs/audit.rst)."""

    @document(
        operation_id="auditoria_listar",
        parameters=query_of(AuditFilterSerializer),
        responses=AuditEventSerializer(many=True),
        errors=["invalid", "permission_denied"],
    )
    def get(self, request: Request) -> Response:
        return self.page_of(events_visible_to(request.user, self.wanted()))


class AccessHistoryView(ConvitesAPIView):
    """``GET /api/auditoria/acessos/``: which of a user's credentials were used, when, and from where."""

    permission_classes = [IsAuthenticated]

    @document(
        operation_id="auditoria_acessos",
        parameters=query_of(AccessHistoryFilterSerializer),
        responses=AccessHistorySerializer,
        errors=["invalid", "permission_denied"],
    )
    def get(self, request: Request) -> Response:
        filters = AccessHistoryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted: dict[str, Any] = filters.validated_data
        history = access_history(
            request.user, user_id=wanted.get("usuario"), since=wanted.get("desde"), limit=wanted["limite"]
        )
        return Response(AccessHistorySerializer(history).data)
