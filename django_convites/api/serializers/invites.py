from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_convites import orgs
from django_convites.api.schema import NULLABLE_REFERENCE, REFERENCE, field_schema, secret_schema
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


class TargetTypeField(serializers.CharField):
    """``tipo_destino`` in a request. The service checks it against ``TARGET_TYPES``; the schema lists the
    site's types as an enum, read when the schema is generated (:mod:`django_convites.api.schema`)."""


#: The text that describes ``tipo_destino`` in an answer: a plain string there, since an invite keeps its
#: type after the site drops it from ``TARGET_TYPES`` (such an invite can no longer be used).
TARGET_TYPE_HELP = (
    "A key of the site's TARGET_TYPES setting (by default associado, nucleado, convidado, coordenador, admin)."
)


class InviteCreateSerializer(StrictSerializer):
    """The body of ``POST /api/tokens/``. The service checks the values against the site's settings."""

    tipo_destino = TargetTypeField(max_length=32, help_text="The target type: a key of the site's TARGET_TYPES.")
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

    tipo_destino = serializers.CharField(source="target_type", help_text=TARGET_TYPE_HELP)
    organizacao = serializers.SerializerMethodField()
    nucleos = serializers.SerializerMethodField()
    estado = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    data_expiracao = serializers.DateTimeField(source="expires_at")
    criado_em = serializers.DateTimeField(source="created_at")
    gerado_por = serializers.ReadOnlyField(source="issued_by_id")
    usado_em = serializers.DateTimeField(source="used_at", allow_null=True)
    usado_por = serializers.ReadOnlyField(source="used_by_id")
    revogado_em = serializers.DateTimeField(source="revoked_at", allow_null=True)
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

    @field_schema({**NULLABLE_REFERENCE, "description": "The organization's id, or null."})
    def get_organizacao(self, invite: Invite) -> Any:
        return orgs.organization_key(invite.organization_ref)

    @field_schema({"type": "array", "items": REFERENCE, "description": "The ids of the nuclei."})
    def get_nucleos(self, invite: Invite) -> list[Any]:
        return orgs.nucleus_keys(invite.nucleus_refs)

    @field_schema({"type": "string", "enum": InviteState.values, "description": "Where the invite stands now."})
    def get_estado(self, invite: Invite) -> str:
        return invite.state().value


class IssuedInviteSerializer(InviteSerializer):
    """The 201 of ``POST /api/tokens/``: the invite and, this once, its code."""

    codigo = serializers.SerializerMethodField()

    class Meta(InviteSerializer.Meta):
        fields = ["id", "codigo", *InviteSerializer.Meta.fields[1:]]
        read_only_fields = fields

    @field_schema(secret_schema("cvi", "The invite code, shown in this answer only."))
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
    """The 200 of a use: the invite, spent just now."""

    usado_em = serializers.DateTimeField(source="used_at")

    class Meta(InviteSerializer.Meta):
        fields = ["id", "estado", "usado_em", "usado_por"]
        read_only_fields = fields


class RevokedInviteSerializer(InviteSerializer):
    """The 200 of a revocation: the invite, revoked just now."""

    revogado_em = serializers.DateTimeField(source="revoked_at")

    class Meta(InviteSerializer.Meta):
        fields = ["id", "estado", "revogado_em", "revogado_por"]
        read_only_fields = fields


@field_schema(secret_schema("cvi"))
class InviteCodeField(serializers.CharField):
    """An invite code in a request body, for the schema: any string gets to the service, which answers
    400 ``invalid_code_format`` for one that is not a code."""


class CodeSerializer(serializers.Serializer[Any]):
    """``{"codigo": ...}``: the body of validate (described for the schema; the service parses it)."""

    codigo = InviteCodeField(help_text=_("The invite code, cvi_..."))


class InviteUseSerializer(serializers.Serializer[Any]):
    """``{"codigo": ...}``: the body of use, needed only when ``<ref>`` is the invite's id (described for the
    schema; the service parses it)."""

    codigo = InviteCodeField(
        required=False, help_text="The invite code, cvi_...; needed when the path names the invite's id."
    )
