from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import mixins
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView, ConvitesGenericViewSet
from django_convites.api.pagination import NewestFirstPagination
from django_convites.api.serializers import AuditEventSerializer, AuditFilterSerializer
from django_convites.audit import events_visible_to
from django_convites.models import AuditEvent


class APIRootView(ConvitesAPIView):
    """The API's entry point: links to each group of endpoints."""

    permission_classes = [AllowAny]
    schema = None  # a table of links, not an operation worth documenting

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoints = {"auditoria": request.build_absolute_uri(reverse("convites_api:audit-list"))}
        return Response({"nome": "django-convites", "endpoints": endpoints})


class AuditEventViewSet(mixins.ListModelMixin, ConvitesGenericViewSet):
    """``GET /api/auditoria/``: one's own events; root and admin see everyone's (contract section 8).

    Filters: ``usuario`` (a user id), ``evento``, ``desde`` and ``ate`` (ISO 8601 date-times).
    """

    serializer_class = AuditEventSerializer
    pagination_class = NewestFirstPagination
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[AuditEvent]:
        filters = AuditFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        return events_visible_to(
            self.request.user,
            actor_id=wanted.get("usuario"),
            event=wanted.get("evento"),
            since=wanted.get("desde"),
            until=wanted.get("ate"),
        )
