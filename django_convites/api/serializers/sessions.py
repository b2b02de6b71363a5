from __future__ import annotations

from rest_framework import serializers

from django_convites.api.serializers.invites import StrictSerializer
from django_convites.models import SessionFamily


class LoginSerializer(StrictSerializer):
    """The body of ``POST /api/auth/token/``."""

    username = serializers.CharField(max_length=254, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(max_length=64, required=False, allow_blank=True)


class RefreshSerializer(StrictSerializer):
    """``{"refresh": ...}``: the body of refresh and revoke."""

    refresh = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer):  # type: ignore[type-arg]
    access = serializers.CharField()
    refresh = serializers.CharField()
    access_expira_em = serializers.DateTimeField(source="access_expires_at")
    refresh_expira_em = serializers.DateTimeField(source="refresh_expires_at")


class SessionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    criado_em = serializers.DateTimeField(source="created_at")
    ultimo_refresh_em = serializers.DateTimeField(source="last_refreshed_at")

    class Meta:
        model = SessionFamily
        fields = ["id", "criado_em", "ultimo_refresh_em", "ip", "user_agent"]
        read_only_fields = fields
