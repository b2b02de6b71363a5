from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_convites.api.schema import field_schema, secret_schema
from django_convites.api.serializers.base import StrictSerializer
from django_convites.models import ApiToken, Scope
from django_convites.services.api_tokens import MAX_ALLOWED_NETWORKS


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    """An API token on the wire. The secret is never here: only the 201 that creates it adds ``token``."""

    nome = serializers.CharField(source="name")
    prefixo = serializers.CharField(source="prefix")
    criado_em = serializers.DateTimeField(source="created_at")
    expira_em = serializers.DateTimeField(source="expires_at", allow_null=True, help_text="null: it never expires.")
    ultimo_uso_em = serializers.DateTimeField(
        source="last_used_at", allow_null=True, help_text="Written at most once a minute; null: never used."
    )
    ultimo_uso_ip = serializers.IPAddressField(source="last_used_ip", allow_null=True)
    ips_permitidos = serializers.ListField(
        source="allowed_ips", child=serializers.CharField(), help_text="Networks in CIDR form; empty: any address."
    )
    revogado_em = serializers.DateTimeField(source="revoked_at", allow_null=True)
    usuario = serializers.ReadOnlyField(source="user_id")

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "nome",
            "scope",
            "prefixo",
            "criado_em",
            "expira_em",
            "ultimo_uso_em",
            "ultimo_uso_ip",
            "ips_permitidos",
            "revogado_em",
            "usuario",
        ]
        read_only_fields = fields


class CreatedApiTokenSerializer(ApiTokenSerializer):
    """The 201 of a creation or a rotation: the token and, this once, its secret."""

    token = serializers.SerializerMethodField()

    class Meta(ApiTokenSerializer.Meta):
        fields = ["id", "token", *ApiTokenSerializer.Meta.fields[1:]]
        read_only_fields = fields

    @field_schema(secret_schema("cvp", "The API token, shown in this answer only."))
    def get_token(self, token: ApiToken) -> str:
        secret: str = self.context["secret"]
        return secret


class ApiTokenCreateSerializer(StrictSerializer):
    """The body of ``POST /api/api-tokens/``."""

    nome = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scope = serializers.ChoiceField(choices=Scope.choices)
    expira_em = serializers.DateTimeField(required=False, allow_null=True)
    ips_permitidos = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=MAX_ALLOWED_NETWORKS,
        help_text=_("IP addresses or networks in CIDR form; empty for any."),
    )
