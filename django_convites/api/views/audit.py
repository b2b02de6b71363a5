from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins
from rest_framework.permissions import IsAuthenticated

from django_convites.api.base import ConvitesGenericViewSet
from django_convites.api.pagination import NewestFirstPagination
from django_convites.api.serializers.audit import AuditEventSerializer, AuditFilterSerializer
from django_convites.audit import events_visible_to
from django_convites.models import AuditEvent


class AuditEventViewSet(mixins.ListModelMixin, ConvitesGenericViewSet[AuditEvent]):
    """``GET /api/auditoria/``: one's own events; root and admin see everyone's (docs/audit.rst).

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
