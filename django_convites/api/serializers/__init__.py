"""Serializers of the API, one module per area."""

from __future__ import annotations

from django_convites.api.serializers.api_tokens import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    CreatedApiTokenSerializer,
)
from django_convites.api.serializers.audit import (
    AuditEventSerializer,
    AuditFilterSerializer,
)
from django_convites.api.serializers.invites import (
    InviteCreateSerializer,
    InviteFilterSerializer,
    InviteSerializer,
)

__all__ = [
    "ApiTokenCreateSerializer",
    "ApiTokenSerializer",
    "CreatedApiTokenSerializer",
    "AuditEventSerializer",
    "AuditFilterSerializer",
    "InviteCreateSerializer",
    "InviteFilterSerializer",
    "InviteSerializer",
]
