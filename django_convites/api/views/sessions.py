"""``/api/auth/``: JWT sessions (docs/sessions.rst)."""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import (
    ConvitesAPIView,
    ConvitesGenericAPIView,
    NoStoreMixin,
)
from django_convites.api.pagination import CreatedAtPagination
from django_convites.api.schema import document
from django_convites.api.serializers.sessions import (
    LoginSerializer,
    RefreshSerializer,
    SessionSerializer,
    TokenPairSerializer,
)
from django_convites.api.throttling import LoginThrottle, LoginUsernameThrottle
from django_convites.models import SessionFamily
from django_convites.net import request_meta
from django_convites.services import sessions


class SessionTokenView(NoStoreMixin, ConvitesAPIView):
    """Views that take credentials in the body and answer secrets: no login needed, never cached."""

    permission_classes = [AllowAny]
    two_factor_exempt = True
    authentication_classes: list[Any] = []


@method_decorator(sensitive_post_parameters("password", "otp"), name="dispatch")
class LoginView(SessionTokenView):
    """``POST /api/auth/token/``: username, password and, with two-factor authentication, ``otp``.

    The password and code are marked sensitive, so Django's error reports (and a DEBUG 500 page) hide them.
    """

    throttle_classes = [LoginThrottle, LoginUsernameThrottle]

    @document(
        operation_id="auth_login",
        request=LoginSerializer,
        responses=TokenPairSerializer,
        errors=["invalid", "invalid_credentials", "otp_required", ("otp_invalid", 401), "otp_locked"],
    )
    @method_decorator(sensitive_variables("body"))
    def post(self, request: Request) -> Response:
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pair = sessions.login(
            username=body.validated_data["username"],
            password=body.validated_data["password"],
            otp=body.validated_data.get("otp"),
            meta=request_meta(request),
            auth_request=request._request,
        )
        return Response(TokenPairSerializer(pair).data)


class RefreshView(SessionTokenView):
    """``POST /api/auth/token/refresh/``: a new pair for a refresh token, which is spent."""

    @document(
        operation_id="auth_refresh",
        request=RefreshSerializer,
        responses=TokenPairSerializer,
        errors=[
            "invalid",
            ("authentication_failed", 401),
            ("token_expired", 401),
            ("token_revoked", 401),
            "token_reused",
        ],
    )
    def post(self, request: Request) -> Response:
        body = RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pair = sessions.refresh(body.validated_data["refresh"], meta=request_meta(request))
        return Response(TokenPairSerializer(pair).data)


class RevokeView(SessionTokenView):
    """``POST /api/auth/token/revoke/``: log out, ending the session of a refresh token."""

    @document(
        operation_id="auth_revoke",
        request=RefreshSerializer,
        responses={204: None},
        errors=["invalid", ("authentication_failed", 401)],
    )
    def post(self, request: Request) -> Response:
        body = RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sessions.logout(body.validated_data["refresh"], meta=request_meta(request))
        return Response(status=204)


class SessionListView(ConvitesGenericAPIView[SessionFamily]):
    """``GET /api/auth/sessoes/``: one's live sessions, newest first."""

    permission_classes = [IsAuthenticated]
    pagination_class = CreatedAtPagination
    serializer_class = SessionSerializer
    #: Only for the browsable API, whose filter form asks for one; ``get`` lists what the service allows.
    queryset = SessionFamily.objects.none()

    @document(
        operation_id="auth_sessoes_listar",
        responses=SessionSerializer(many=True),
        links={200: {"end": ("auth_sessoes_encerrar", {"family_id": "$response.body#/results/0/id"})}},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(sessions.sessions_of(request.user))
        return self.get_paginated_response(SessionSerializer(page, many=True).data)


class SessionDetailView(ConvitesAPIView):
    """``DELETE /api/auth/sessoes/<id>/``: end one of one's sessions (its access tokens stop at once)."""

    permission_classes = [IsAuthenticated]

    @document(operation_id="auth_sessoes_encerrar", responses={204: None}, errors=["not_found"])
    def delete(self, request: Request, family_id: str) -> Response:
        sessions.end_own_session(request.user, family_id, meta=request_meta(request))
        return Response(status=204)
