from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.fields import AutoFieldMixin
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_convites.api.schema import field_schema
from django_convites.api.serializers.base import RFC3339DateTimeField
from django_convites.api.serializers.invites import ReferenceField
from django_convites.audit import EventFilter
from django_convites.models import AuditEvent


@field_schema({"type": "object", "additionalProperties": True, "description": "The event's details (docs/events.rst)."})
class DetailsField(serializers.JSONField):
    """``detalhes``: a JSON object, whose keys each event documents."""


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    """One event as the API shows it: :meth:`AuditEvent.to_wire() <django_convites.models.AuditEvent.to_wire>`,
    the same row webhooks send. The fields below describe it for the schema."""

    evento = serializers.CharField(source="event")
    usuario = serializers.ReadOnlyField(source="actor_id")
    alvo_tipo = serializers.CharField(source="target_type")
    alvo_id = serializers.CharField(source="target_id")
    criado_em = serializers.DateTimeField(source="created_at")
    detalhes = DetailsField(source="details")

    class Meta:
        model = AuditEvent
        fields = ["id", "evento", "usuario", "alvo_tipo", "alvo_id", "ip", "user_agent", "criado_em", "detalhes"]
        read_only_fields = fields

    def to_representation(self, instance: AuditEvent) -> dict[str, Any]:
        return instance.to_wire()


class UserFilterSerializer(serializers.Serializer[Any]):
    """A ``?usuario=`` query parameter: a primary key of the site's user model, whatever its type.

    The value must be one the key's column can hold (an integer key within the database's range; an
    automatic key, positive), so that a query never fails on it: anything else is a 400 field error.
    """

    usuario = serializers.CharField(
        required=False, max_length=64, help_text="A user's id: another user's needs root or admin."
    )

    def validate_usuario(self, value: str) -> Any:
        pk = get_user_model()._meta.pk
        try:
            user_id = pk.to_python(value)
            pk.run_validators(user_id)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            user_id = None
        if user_id is None or (isinstance(pk, AutoFieldMixin) and user_id < 1):
            raise serializers.ValidationError(_("Not a valid user id."))
        return user_id


class PeriodFilterSerializer(UserFilterSerializer):
    """``?usuario=&desde=&ate=``: whose, and from when to when (ISO 8601 date-times, both inclusive)."""

    desde = serializers.DateTimeField(required=False, help_text="ISO 8601 date-time, inclusive.")
    ate = serializers.DateTimeField(required=False, help_text="ISO 8601 date-time, inclusive; not before 'desde'.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "desde" in attrs and "ate" in attrs and attrs["desde"] > attrs["ate"]:
            raise serializers.ValidationError({"ate": [_("Must not be before 'desde'.")]})
        return attrs


class AuditFilterSerializer(PeriodFilterSerializer):
    """The query string of the audit lists (``GET /api/auditoria/`` and the ``logs/`` of an invite or a token)."""

    evento = serializers.CharField(required=False, max_length=64, help_text="An event name (docs/events.rst).")
    alvo_tipo = serializers.CharField(
        required=False, max_length=32, help_text="The kind of object acted on: convite, api_token, sessao, ..."
    )
    alvo_id = serializers.CharField(required=False, max_length=64, help_text="The id of the object acted on.")
    ip = serializers.IPAddressField(required=False, help_text="The client's IP address (IPv4 or IPv6).")

    def event_filter(self) -> EventFilter:
        """The validated query as an :class:`~django_convites.audit.EventFilter` (call after ``is_valid()``)."""
        wanted = self.validated_data
        return EventFilter(
            actor_id=wanted.get("usuario"),
            event=wanted.get("evento"),
            target_type=wanted.get("alvo_tipo"),
            target_id=wanted.get("alvo_id"),
            ip=wanted.get("ip"),
            since=wanted.get("desde"),
            until=wanted.get("ate"),
        )


class AccessHistoryFilterSerializer(UserFilterSerializer):
    """The query string of ``GET /api/auditoria/acessos/``."""

    desde = serializers.DateTimeField(required=False, help_text="ISO 8601 date-time; by default 30 days ago.")
    limite = serializers.IntegerField(
        required=False, min_value=1, max_value=200, default=50, help_text="How many credentials, at most."
    )


class UseSerializer(serializers.Serializer[Any]):
    em = serializers.DateTimeField(source="at")
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()


class CredentialUsesSerializer(serializers.Serializer[Any]):
    tipo = serializers.CharField(source="kind", help_text="api_token, sessao, or login (logins to Django sessions)")
    id = serializers.CharField(allow_null=True)
    nome = serializers.CharField(source="name", help_text="an API token's name; empty for the others")
    criado_em = serializers.DateTimeField(source="created_at", allow_null=True)
    ativa = serializers.BooleanField(source="active", allow_null=True, help_text="null for logins")
    ultimo_uso_em = serializers.DateTimeField(source="last_used_at", allow_null=True)
    usos = serializers.IntegerField(source="uses", help_text="uses recorded since 'desde'")
    ultimos_usos = UseSerializer(source="recent", many=True, help_text="the last uses since 'desde', newest first")


class AccessHistorySerializer(serializers.Serializer[Any]):
    usuario = ReferenceField(read_only=True, source="user_id", help_text="The user's primary key.")
    # The client chooses it (?desde=), any year: RFC 3339 even before the site's zone had standard time.
    desde = RFC3339DateTimeField(source="since")
    credenciais = CredentialUsesSerializer(source="credentials", many=True)
