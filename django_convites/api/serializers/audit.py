from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.fields import AutoFieldMixin
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_convites.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    evento = serializers.CharField(source="event")
    usuario = serializers.ReadOnlyField(source="actor_id")
    alvo_tipo = serializers.CharField(source="target_type")
    alvo_id = serializers.CharField(source="target_id")
    criado_em = serializers.DateTimeField(source="created_at")
    detalhes = serializers.JSONField(source="details")

    class Meta:
        model = AuditEvent
        fields = ["id", "evento", "usuario", "alvo_tipo", "alvo_id", "ip", "user_agent", "criado_em", "detalhes"]
        read_only_fields = fields


class UserFilterSerializer(serializers.Serializer[Any]):
    """A ``?usuario=`` query parameter: a primary key of the site's user model, whatever its type.

    The value must be one the key's column can hold (an integer key within the database's range; an
    automatic key, positive), so that a query never fails on it: anything else is a 400 field error.
    """

    usuario = serializers.CharField(required=False, max_length=64)

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


class AuditFilterSerializer(UserFilterSerializer):
    """The query string of ``GET /api/auditoria/``."""

    evento = serializers.CharField(required=False, max_length=64)
    desde = serializers.DateTimeField(required=False)
    ate = serializers.DateTimeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "desde" in attrs and "ate" in attrs and attrs["desde"] > attrs["ate"]:
            raise serializers.ValidationError({"ate": [_("Must not be before 'desde'.")]})
        return attrs
