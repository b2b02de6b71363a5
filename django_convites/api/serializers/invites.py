from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_convites import orgs
from django_convites.api.schema import REFERENCE, field_schema
from django_convites.api.serializers.base import StrictSerializer
from django_convites.models import Invite, InviteState


@field_schema(REFERENCE)
class ReferenceField(serializers.Field[int | str, int | str, int | str, Any]):
    """A host model's id as JSON sends it: an integer or a string (never a boolean, float or object)."""

    default_error_messages = {"invalid": _("Must be an id (a number or a string).")}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, (int, str)) or data == "" or len(str(data)) > 64:
            self.fail("invalid")
        return data

    def to_representation(self, value: int | str) -> int | str:
        return value


class InviteCreateSerializer(StrictSerializer):
    """The body of ``POST /api/tokens/``. The service checks the values against the site's settings."""

    tipo_destino = serializers.CharField(max_length=32)
    organizacao = ReferenceField(required=False, allow_null=True)
    nucleos = serializers.ListField(child=ReferenceField(), required=False, max_length=orgs.MAX_NUCLEI)
    data_expiracao = serializers.DateTimeField(required=False, allow_null=True)
    #: The service checks the address (one e-mail address, at most 254 characters).
    email = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)


class InviteFilterSerializer(serializers.Serializer[Any]):
    """The query string of ``GET /api/tokens/``."""

    estado = serializers.ChoiceField(choices=InviteState.choices, required=False)


class InviteSerializer(serializers.ModelSerializer[Invite]):
    """An invite on the wire. The code is never here: only the 201 that creates it adds ``codigo``."""

    tipo_destino = serializers.CharField(source="target_type")
    organizacao = serializers.SerializerMethodField()
    nucleos = serializers.SerializerMethodField()
    estado = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    data_expiracao = serializers.DateTimeField(source="expires_at")
    criado_em = serializers.DateTimeField(source="created_at")
    gerado_por = serializers.ReadOnlyField(source="issued_by_id")
    usado_em = serializers.DateTimeField(source="used_at")
    usado_por = serializers.ReadOnlyField(source="used_by_id")
    revogado_em = serializers.DateTimeField(source="revoked_at")
    revogado_por = serializers.ReadOnlyField(source="revoked_by_id")

    class Meta:
        model = Invite
        fields = [
            "id",
            "tipo_destino",
            "organizacao",
            "nucleos",
            "estado",
            "email",
            "data_expiracao",
            "criado_em",
            "gerado_por",
            "usado_em",
            "usado_por",
            "revogado_em",
            "revogado_por",
        ]
        read_only_fields = fields

    def get_email(self, invite: Invite) -> str | None:
        """The address the invite is bound to, or None: anyone with the code may use it."""
        return invite.email or None

    def get_organizacao(self, invite: Invite) -> Any:
        return orgs.organization_key(invite.organization_ref)

    def get_nucleos(self, invite: Invite) -> list[Any]:
        return orgs.nucleus_keys(invite.nucleus_refs)

    def get_estado(self, invite: Invite) -> str:
        return invite.state().value


class IssuedInviteSerializer(InviteSerializer):
    """The 201 of ``POST /api/tokens/``: the invite and, this once, its code."""

    codigo = serializers.SerializerMethodField()

    class Meta(InviteSerializer.Meta):
        fields = ["id", "codigo", *InviteSerializer.Meta.fields[1:]]
        read_only_fields = fields

    def get_codigo(self, invite: Invite) -> str:
        code: str = self.context["code"]
        return code


class ValidatedInviteSerializer(InviteSerializer):
    """What an anonymous invitee learns from a valid code: no issuer, no history."""

    valido = serializers.SerializerMethodField()

    class Meta(InviteSerializer.Meta):
        fields = ["valido", "id", "tipo_destino", "organizacao", "nucleos", "data_expiracao"]
        read_only_fields = fields

    def get_valido(self, invite: Invite) -> bool:
        return True


class UsedInviteSerializer(InviteSerializer):
    class Meta(InviteSerializer.Meta):
        fields = ["id", "estado", "usado_em", "usado_por"]
        read_only_fields = fields


class RevokedInviteSerializer(InviteSerializer):
    class Meta(InviteSerializer.Meta):
        fields = ["id", "estado", "revogado_em", "revogado_por"]
        read_only_fields = fields


class CodeSerializer(serializers.Serializer[Any]):
    """``{"codigo": ...}``: the body of validate and use (described for the schema; the service parses it)."""

    codigo = serializers.CharField(help_text=_("The invite code, cvi_..."))
