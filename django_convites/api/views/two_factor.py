"""``/api/2fa/``: two-factor authentication with a TOTP app (contract section 7)."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView, NoStoreMixin
from django_convites.api.schema import document
from django_convites.api.serializers.two_factor import (
    EnrolmentSerializer,
    TwoFactorCodeSerializer,
    TwoFactorStatusSerializer,
)
from django_convites.api.throttling import TwoFactorThrottle
from django_convites.net import request_meta
from django_convites.services import two_factor


def _status(request: Request) -> Response:
    devices = two_factor.confirmed_devices(request.user)
    return Response(TwoFactorStatusSerializer({"ativo": bool(devices), "dispositivos": devices}).data)


class TwoFactorStatusView(ConvitesAPIView):
    """``GET /api/2fa/``: whether two-factor authentication is on, and with which devices."""

    permission_classes = [IsAuthenticated]

    @document(operation_id="2fa_estado", responses=TwoFactorStatusSerializer)
    def get(self, request: Request) -> Response:
        return _status(request)


class TotpEnrolView(NoStoreMixin, ConvitesAPIView):
    """``POST /api/2fa/totp/``: a new, unconfirmed TOTP device; its secret is in this answer only."""

    permission_classes = [IsAuthenticated]

    @document(operation_id="2fa_totp_iniciar", request=None, responses={201: EnrolmentSerializer})
    def post(self, request: Request) -> Response:
        enrolment = two_factor.start_totp(request.user, meta=request_meta(request))
        return Response(EnrolmentSerializer(enrolment).data, status=201)


class TotpConfirmView(ConvitesAPIView):
    """``POST /api/2fa/totp/confirmar/`` ``{codigo}``: activate the device with a current code."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [TwoFactorThrottle]

    @document(operation_id="2fa_totp_confirmar", request=TwoFactorCodeSerializer, responses=TwoFactorStatusSerializer)
    def post(self, request: Request) -> Response:
        body = TwoFactorCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        two_factor.confirm_totp(request.user, body.validated_data["codigo"], meta=request_meta(request))
        return _status(request)


class TwoFactorDisableView(ConvitesAPIView):
    """``POST /api/2fa/desativar/`` ``{codigo}``: turn two-factor authentication off with a current code."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [TwoFactorThrottle]

    @document(operation_id="2fa_desativar", request=TwoFactorCodeSerializer, responses=TwoFactorStatusSerializer)
    def post(self, request: Request) -> Response:
        body = TwoFactorCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        two_factor.disable(request.user, body.validated_data["codigo"], meta=request_meta(request))
        return _status(request)
