"""The example project's URLs, plus the same tiny view behind three authentications: DRF's
``TokenAuthentication``, and django-convites' ``BearerAuthentication`` (with an API token, and with a JWT
access token: the same class, the credential decides)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_convites.api.authentication import BearerAuthentication
from example_project.urls import handler400, handler403, handler404, handler500
from example_project.urls import urlpatterns as example_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class Ping(APIView):
    """``GET``: ``{"ok": true}`` for an authenticated user; nothing else happens."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns: list[URLPattern | URLResolver] = [
    path("load/drf-token/", Ping.as_view(authentication_classes=[TokenAuthentication])),
    path("load/api-token/", Ping.as_view(authentication_classes=[BearerAuthentication])),
    path("load/jwt/", Ping.as_view(authentication_classes=[BearerAuthentication])),
    *example_urlpatterns,
]
