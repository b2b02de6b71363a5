from __future__ import annotations

from typing import Any

from rest_framework import serializers

from django_convites.api.schema import field_schema, secret_schema
from django_convites.api.serializers.base import StrictSerializer
from django_convites.models import SessionFamily
from django_convites.services import sessions


class StringField(serializers.CharField):
    """A JSON string and nothing else: DRF's ``CharField`` turns a number into its digits, and a login
    must not (a username sent as ``55501234`` would dodge the per-username throttle)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UsernameField(StringField):
    """The username as :func:`~django_convites.services.sessions.normalize_username` hands it to
    ``authenticate()``, the same string the per-username throttle counts."""

    def to_internal_value(self, data: Any) -> str:
        return sessions.normalize_username(super().to_internal_value(data))


class LoginSerializer(StrictSerializer):
    """The body of ``POST /api/auth/token/``: strings only (anything else is 400)."""

    username = UsernameField(max_length=254, trim_whitespace=False)
    password = StringField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp = StringField(max_length=64, required=False, allow_blank=True, trim_whitespace=False)


@field_schema(secret_schema("cvr"))
class RefreshTokenField(serializers.CharField):
    """A refresh token in a request body: any string up to 128 characters gets to the service, which answers
    401 for one that is not a live refresh token; the schema shows the tokens' shape."""


class RefreshSerializer(StrictSerializer):
    """``{"refresh": ...}``: the body of refresh and revoke."""

    refresh = RefreshTokenField(max_length=128, trim_whitespace=False, help_text="A refresh token (cvr_...).")


class SessionEndField(serializers.DateTimeField):
    """``sessao_expira_em``: the absolute end of a session, fixed at its login."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        kwargs.setdefault(
            "help_text", "When the session ends however often it is refreshed (SESSION_MAX_LIFETIME after the login)."
        )
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return sessions.session_end(instance.family if isinstance(instance, sessions.TokenPair) else instance)


class TokenPairSerializer(serializers.Serializer[sessions.TokenPair]):
    access = serializers.CharField(help_text="A JWT access token: send it as Authorization: Bearer <access>.")
    refresh = RefreshTokenField(help_text="The refresh token (cvr_...): spend it once for a new pair.")
    access_expira_em = serializers.DateTimeField(source="access_expires_at")
    refresh_expira_em = serializers.DateTimeField(source="refresh_expires_at")
    sessao_expira_em = SessionEndField()


class SessionSerializer(serializers.ModelSerializer[SessionFamily]):
    criado_em = serializers.DateTimeField(source="created_at")
    ultimo_refresh_em = serializers.DateTimeField(
        source="last_refreshed_at", allow_null=True, help_text="null: never refreshed."
    )
    sessao_expira_em = SessionEndField()

    class Meta:
        model = SessionFamily
        fields = ["id", "criado_em", "ultimo_refresh_em", "sessao_expira_em", "ip", "user_agent"]
        read_only_fields = fields
