from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import serializers

from django_convites.api.schema import field_schema
from django_convites.api.serializers.base import StrictSerializer
from django_convites.services.two_factor import Enrolment


class TwoFactorCodeSerializer(StrictSerializer):
    """``{"codigo": "123456"}``: a current code of the authenticator app."""

    codigo = serializers.CharField(max_length=32, trim_whitespace=False)


@field_schema({"type": "boolean"})
class JSONBooleanField(serializers.BooleanField):
    """``true`` or ``false`` and nothing else: DRF's ``BooleanField`` also takes ``"true"``, ``1``,
    ``"yes"``..., and a choice that ends credentials must not be guessed from a string."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class TotpConfirmSerializer(TwoFactorCodeSerializer):
    """``{"codigo": "123456", "manter_api_tokens": false}``: confirm the new device."""

    manter_api_tokens = JSONBooleanField(
        required=False,
        default=False,
        help_text="Keep the API tokens, which turning two-factor authentication on otherwise revokes.",
    )


class DeviceSerializer(serializers.Serializer[TOTPDevice]):
    id = serializers.IntegerField()
    nome = serializers.CharField(source="name")
    tipo = serializers.SerializerMethodField()
    confirmado = serializers.BooleanField(source="confirmed")

    def get_tipo(self, device: object) -> str:
        return "totp"


class TwoFactorStatusSerializer(serializers.Serializer[Mapping[str, Any]]):
    ativo = serializers.BooleanField()
    dispositivos = DeviceSerializer(many=True)
    codigos_backup_restantes = serializers.IntegerField(help_text="Backup codes not used yet.")


class ActivationSerializer(TwoFactorStatusSerializer):
    """The answer of a confirmation: the status, and what ended with the change."""

    sessoes_encerradas = serializers.IntegerField(help_text="Other JWT sessions of the user that were ended.")
    api_tokens_revogados = serializers.IntegerField(help_text="API tokens of the user that were revoked.")


class BackupCodesSerializer(serializers.Serializer[Mapping[str, Any]]):
    codigos = serializers.ListField(
        child=serializers.CharField(), help_text="Ten one-time backup codes; shown in this answer only."
    )


class EnrolmentSerializer(serializers.Serializer[Enrolment]):
    id = serializers.IntegerField(source="device.pk")
    otpauth_url = serializers.CharField()
    qr_svg = serializers.CharField()
    segredo = serializers.CharField(source="secret")
