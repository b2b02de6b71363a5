from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_convites.api.base import ConvitesAPIView
from django_convites.api.permissions import HasScope, RequireTwoFactor
from django_convites.middleware import two_factor_exempt
from django_convites.net import request_meta
from django_convites.signals import DomainSignal

#: Signals that exist only to prove the audit path in tests.
test_failed = DomainSignal("teste_falhou", failure=True)
test_done = DomainSignal("teste_feito")


class EchoView(ConvitesAPIView):
    permission_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        return Response({"recebido": request.data})


class FailView(ConvitesAPIView):
    """An app view that records a failure and answers 4xx."""

    permission_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        test_failed.send(sender=None, actor=request.user, meta=request_meta(request), details={"motivo": "x"})
        raise exceptions.PermissionDenied()


class HostFailView(APIView):
    """A host's own DRF view (atomic under ATOMIC_REQUESTS) that records a failure and answers 4xx."""

    permission_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        test_failed.send(sender=None, actor=request.user, meta=request_meta(request), details={"motivo": "host"})
        raise exceptions.AuthenticationFailed()


class DoneThenFailView(APIView):
    """A host view that records a success and then fails: under ATOMIC_REQUESTS nothing may remain."""

    permission_classes: list[Any] = []

    def post(self, request: Request) -> Response:
        test_done.send(sender=None, actor=request.user, meta=request_meta(request), details={})
        raise exceptions.ValidationError({"campo": ["ruim"]})


class WhoAmIView(APIView):
    """A host's own view guarded as the docs say: any method, scope checked per method."""

    permission_classes = [IsAuthenticated, HasScope]

    def get(self, request: Request) -> Response:
        scope = getattr(request.auth, "scope", None)
        return Response({"usuario": request.user.pk, "scope": scope})

    post = put = patch = delete = get


class AdminScopeView(APIView):
    permission_classes = [IsAuthenticated, HasScope]
    required_scope = "admin"

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


def host_page(request: HttpRequest) -> HttpResponse:
    """A host's own HTML page, behind the two-factor middleware."""
    return HttpResponse("pagina")


@two_factor_exempt
def host_help(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ajuda")


def logout_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("saiu")


class RequireTwoFactorView(APIView):
    """A host view that asks for the second factor with the app's permission class."""

    permission_classes = [IsAuthenticated, RequireTwoFactor]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("django_convites.api.urls")),
    path("tokens/", include("django_convites.urls")),
    path("api/t/echo/", EchoView.as_view()),
    path("api/t/fail/", FailView.as_view()),
    path("api/t/host-fail/", HostFailView.as_view()),
    path("api/t/done-then-fail/", DoneThenFailView.as_view()),
    path("api/t/boom/", boom),
    path("api/t/whoami/", WhoAmIView.as_view()),
    path("api/t/admin-scope/", AdminScopeView.as_view()),
    path("site/boom/", boom),
    path("site/page/", host_page),
    path("site/help/", host_help),
    path("site/sair/", logout_page, name="logout"),
    path("api/t/require-2fa/", RequireTwoFactorView.as_view()),
]

handler400 = "django_convites.api.handlers.bad_request"
handler403 = "django_convites.api.handlers.permission_denied"
handler404 = "django_convites.api.handlers.page_not_found"
handler500 = "django_convites.api.handlers.server_error"
