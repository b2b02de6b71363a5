"""``/api/2fa/``: two-factor authentication with a TOTP app (docs/two-factor.rst)."""

from __future__ import annotations

from typing import Any

from django_otp import login as otp_login
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites import policy
from django_convites.api.base import ConvitesAPIView, NoStoreMixin
from django_convites.api.schema import ErrorDeclaration, document
from django_convites.api.serializers.two_factor import (
    ActivationSerializer,
    BackupCodesSerializer,
    EnrolmentSerializer,
    TotpConfirmSerializer,
    TwoFactorCodeSerializer,
    TwoFactorStatusSerializer,
)
from django_convites.api.throttling import TwoFactorThrottle
from django_convites.net import request_meta
from django_convites.services import backup_codes, two_factor

#: What checking a code of the authenticator app can answer (never through an API token).
CODE_ERRORS: list[ErrorDeclaration] = ["invalid", "interactive_login_required", ("otp_invalid", 400), "otp_locked"]


def _status_of(user: Any) -> dict[str, Any]:
    return {
        "ativo": two_factor.has_device(user),
        "dispositivos": two_factor.confirmed_devices(user),
        "codigos_backup_restantes": backup_codes.remaining(user),
    }


def _status(request: Request) -> Response:
    return Response(TwoFactorStatusSerializer(_status_of(request.user)).data)


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
    interactive_only = True  # API tokens are refused (403 interactive_login_required)

    @document(
        operation_id="2fa_totp_iniciar",
        request=None,
        responses={201: EnrolmentSerializer},
        errors=["interactive_login_required", "two_factor_active"],
    )
    def post(self, request: Request) -> Response:
        enrolment = two_factor.start_totp(request.user, meta=request_meta(request))
        return Response(EnrolmentSerializer(enrolment).data, status=201)


class TotpConfirmView(ConvitesAPIView):
    """``POST /api/2fa/totp/confirmar/`` ``{codigo, manter_api_tokens?}``: activate the device with a
    current code. What was opened with a password alone ends: the user's other JWT sessions, and their API
    tokens unless ``manter_api_tokens`` is true. The session of this request goes on, verified."""

    permission_classes = [IsAuthenticated]
    two_factor_exempt = True
    interactive_only = True  # API tokens are refused (403 interactive_login_required)
    throttle_classes = [TwoFactorThrottle]

    @document(
        operation_id="2fa_totp_confirmar",
        request=TotpConfirmSerializer,
        responses=ActivationSerializer,
        errors=[*CODE_ERRORS, "two_factor_active"],
        description=(
            "Turns two-factor authentication on with a current code of the new device. Everything opened "
            "with a password alone ends: every other JWT session of the user, and every API token of the "
            "user unless `manter_api_tokens` is true. The session of this request goes on, counted as "
            "verified with the second factor. The answer says how many sessions and tokens ended."
        ),
    )
    def post(self, request: Request) -> Response:
        body = TotpConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        activation = two_factor.confirm_totp(
            request.user,
            body.validated_data["codigo"],
            meta=request_meta(request),
            session=policy.credential_of(request.user).session_id,
            keep_api_tokens=body.validated_data["manter_api_tokens"],
        )
        if isinstance(request.successful_authenticator, SessionAuthentication):
            otp_login(request, activation.device)  # this session has just proved the second factor
        answer = {
            **_status_of(request.user),
            "sessoes_encerradas": activation.sessions_ended,
            "api_tokens_revogados": activation.api_tokens_revoked,
        }
        return Response(ActivationSerializer(answer).data)


class TwoFactorDisableView(ConvitesAPIView):
    """``POST /api/2fa/desativar/`` ``{codigo}``: turn two-factor authentication off with a current code."""

    permission_classes = [IsAuthenticated]
    two_factor_exempt = True
    interactive_only = True  # API tokens are refused (403 interactive_login_required)
    throttle_classes = [TwoFactorThrottle]

    @document(
        operation_id="2fa_desativar",
        request=TwoFactorCodeSerializer,
        responses=TwoFactorStatusSerializer,
        errors=CODE_ERRORS,
    )
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
    interactive_only = True  # API tokens are refused (403 interactive_login_required)
    throttle_classes = [TwoFactorThrottle]

    @document(
        operation_id="2fa_codigos_backup",
        request=TwoFactorCodeSerializer,
        responses={201: BackupCodesSerializer},
        errors=CODE_ERRORS,
    )
    def post(self, request: Request) -> Response:
        body = TwoFactorCodeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        codes = two_factor.new_backup_codes(request.user, body.validated_data["codigo"], meta=request_meta(request))
        return Response(BackupCodesSerializer({"codigos": codes}).data, status=201)
