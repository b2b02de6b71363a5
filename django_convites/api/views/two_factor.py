"""``/api/2fa/``: two-factor authentication with a TOTP app (contract section 7)."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView, NoStoreMixin
from django_convites.api.schema import document
from django_convites.api.serializers.two_factor import (
    BackupCodesSerializer,
    EnrolmentSerializer,
    TwoFactorCodeSerializer,
    TwoFactorStatusSerializer,
)
from django_convites.api.throttling import TwoFactorThrottle
from django_convites.net import request_meta
from django_convites.services import backup_codes, two_factor


def _status(request: Request) -> Response:
    devices = two_factor.confirmed_devices(request.user)
    status = {"ativo": bool(devices), "dispositivos": devices, "codigos_backup_restantes": backup_codes.remaining(request.user)}
    return Response(TwoFactorStatusSerializer(status).data)


class TwoFactorStatusView(ConvitesAPIView):
    """``GET /api/2fa/``: whether two-factor authentication is on, and with which devices."""

    permission_classes = [IsAuthenticated]
    two_factor_exempt = True

    @document(operation_id="2fa_estado", responses=TwoFactorStatusSerializer)
    def get(self, request: Request) -> Response:
        return _status(request)


class TotpEnrolView(NoStoreMixin, ConvitesAPIView):
    """``POST /api/2fa/totp/``: a new, unconfirmed TOTP device; its secret is in this answer only."""

    permission_classes = [IsAuthenticated]
    two_factor_exempt = True

    @document(operation_id="2fa_totp_iniciar", request=None, responses={201: EnrolmentSerializer})
    def post(self, request: Request) -> Response:
        enrolment = two_factor.start_totp(request.user, meta=request_meta(request))
        return Response(EnrolmentSerializer(enrolment).data, status=201)


class TotpConfirmView(ConvitesAPIView):
    """``POST /api/2fa/totp/confirmar/`` ``{codigo}``: activate the device with a current code."""

    permission_classes = [IsAuthenticated]
    two_factor_exempt = True
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
    two_factor_exempt = True
    throttle_classes = [TwoFactorThrottle]

    @document(operation_id="2fa_desativar", request=TwoFactorCodeSerializer, responses=TwoFactorStatusSerializer)
    def post(self, request: Request) -> Response:
        body = TwoFactorCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        two_factor.disable(request.user, body.validated_data["codigo"], meta=request_meta(request))
        return _status(request)


class BackupCodesView(NoStoreMixin, ConvitesAPIView):
    """``POST /api/2fa/codigos-backup/`` ``{codigo}``: ten new backup codes, replacing the earlier ones;
    a current TOTP code is needed. The codes are in this answer only."""

    permission_classes = [IsAuthenticated]
    two_factor_exempt = True
    throttle_classes = [TwoFactorThrottle]

    @document(operation_id="2fa_codigos_backup", request=TwoFactorCodeSerializer, responses={201: BackupCodesSerializer})
    def post(self, request: Request) -> Response:
        body = TwoFactorCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        codes = two_factor.new_backup_codes(request.user, body.validated_data["codigo"], meta=request_meta(request))
        return Response(BackupCodesSerializer({"codigos": codes}).data, status=201)
