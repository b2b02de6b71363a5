from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

from django_convites.api.serializers.base import StrictSerializer
from django_convites.services.auth_codes import DEFAULT_PURPOSE, PURPOSE_MAX_LENGTH, IssuedCode


class AuthCodeRequestSerializer(StrictSerializer):
    """The body of ``POST /api/codigos/``: ``{"finalidade": "..."}``, optional."""

    finalidade = serializers.CharField(
        max_length=PURPOSE_MAX_LENGTH,
        required=False,
        default=DEFAULT_PURPOSE,
        help_text="What the code is for (letters, digits, '_', '.', ':', '-'); default \"verificacao\".",
    )


class IssuedAuthCodeSerializer(serializers.Serializer[IssuedCode]):
    """The answer to ``POST /api/codigos/``. The code itself went through the sender and is never here."""

    id = serializers.IntegerField(source="auth_code.pk")
    expira_em = serializers.DateTimeField(source="auth_code.expires_at")
    canal = serializers.CharField(source="channel", help_text='How the code was sent: "email", "sms", ...')


class AuthCodeSerializer(StrictSerializer):
    """``{"codigo": "123456"}``: the code the user received. Any string gets to the service, which answers
    400 ``code_invalid`` for one that is not ``AUTH_CODE_LENGTH`` digits (and counts it as a wrong try)."""

    codigo = serializers.CharField(allow_blank=True, trim_whitespace=False)


class ValidatedAuthCodeSerializer(serializers.Serializer[Mapping[str, bool]]):
    valido = serializers.BooleanField()
