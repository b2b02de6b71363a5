"""``/api/codigos/``: one-time authentication codes for step-up and verification (docs/auth-codes.rst)."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView, NoStoreMixin
from django_convites.api.schema import document
from django_convites.api.serializers.auth_codes import (
    AuthCodeRequestSerializer,
    AuthCodeSerializer,
    IssuedAuthCodeSerializer,
    ValidatedAuthCodeSerializer,
)
from django_convites.api.throttling import TwoFactorThrottle
from django_convites.net import request_meta
from django_convites.services import auth_codes


class AuthCodeIssueView(NoStoreMixin, ConvitesAPIView):
    """``POST /api/codigos/`` ``{finalidade?}``: send the logged-in user a new code through
    ``AUTH_CODE_SENDER``; 429 ``code_cooldown`` (with ``Retry-After``) too soon after the last one or
    during a lockout."""

    permission_classes = [IsAuthenticated]
    interactive_only = True  # API tokens are refused (403 interactive_login_required)

    @document(
        operation_id="codigos_gerar",
        request=AuthCodeRequestSerializer,
        responses={201: IssuedAuthCodeSerializer},
        errors=["invalid", "interactive_login_required", "code_cooldown", "code_undeliverable"],
    )
    def post(self, request: Request) -> Response:
        body = AuthCodeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        issued = auth_codes.issue(request.user, purpose=body.validated_data["finalidade"], meta=request_meta(request))
        return Response(IssuedAuthCodeSerializer(issued).data, status=201)


class AuthCodeValidateView(NoStoreMixin, ConvitesAPIView):
    """``POST /api/codigos/validar/`` ``{codigo}``: spend the logged-in user's newest code. Throttled per
    user (``TWO_FACTOR_RATE``)."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [TwoFactorThrottle]
    interactive_only = True  # API tokens are refused (403 interactive_login_required)

    @document(
        operation_id="codigos_validar",
        request=AuthCodeSerializer,
        responses=ValidatedAuthCodeSerializer,
        errors=["invalid", "interactive_login_required", "code_invalid", "code_expired", "code_used", "code_locked"],
    )
    def post(self, request: Request) -> Response:
        body = AuthCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        auth_codes.validate(request.user, body.validated_data["codigo"], meta=request_meta(request))
        return Response(ValidatedAuthCodeSerializer({"valido": True}).data)
