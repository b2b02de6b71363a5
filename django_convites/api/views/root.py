from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView


class APIRootView(ConvitesAPIView):
    """The API's entry point: links to each group of endpoints."""

    permission_classes = [AllowAny]
    two_factor_exempt = True
    schema = None  # a table of links, not an operation worth documenting

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        names = {
            "login": "convites_api:auth-token",
            "sessoes": "convites_api:auth-session-list",
            "convites": "convites_api:invite-list",
            "api_tokens": "convites_api:api-token-list",
            "auditoria": "convites_api:audit-list",
        }
        endpoints = {key: request.build_absolute_uri(reverse(name)) for key, name in names.items()}
        return Response({"nome": "django-convites", "endpoints": endpoints})
