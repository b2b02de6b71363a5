from __future__ import annotations

from rest_framework import serializers

from django_convites.api.serializers.invites import StrictSerializer


class TwoFactorCodeSerializer(StrictSerializer):
    """``{"codigo": "123456"}``: a current code of the authenticator app."""

    codigo = serializers.CharField(max_length=32, trim_whitespace=False)


class DeviceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    nome = serializers.CharField(source="name")
    tipo = serializers.SerializerMethodField()
    confirmado = serializers.BooleanField(source="confirmed")

    def get_tipo(self, device: object) -> str:
        return "totp"


class TwoFactorStatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ativo = serializers.BooleanField()
    dispositivos = DeviceSerializer(many=True)
    codigos_backup_restantes = serializers.IntegerField(help_text="Backup codes not used yet.")


class BackupCodesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    codigos = serializers.ListField(
        child=serializers.CharField(), help_text="Ten one-time backup codes; shown in this answer only."
    )


class EnrolmentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(source="device.pk")
    otpauth_url = serializers.CharField()
    qr_svg = serializers.CharField()
    segredo = serializers.CharField(source="secret")
