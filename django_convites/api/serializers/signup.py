"""The body and the answer of ``POST /api/tokens/<ref>/registrar/`` (sign-up with an invite)."""

from __future__ import annotations

from rest_framework import serializers

from django_convites.api.serializers.invites import ReferenceField
from django_convites.api.serializers.sessions import TokenPairSerializer


class SignUpSerializer(serializers.Serializer[object]):
    """The body, for the schema: the fields of the default ``SIGNUP_FORM``. The form validates them (a
    site's own form may take more); ``codigo`` only when ``<ref>`` is the invite's id."""

    codigo = serializers.CharField(required=False, help_text="The invite code, when the path names the invite's id.")
    username = serializers.CharField(
        required=False, help_text="The new account's username (absent when the user model signs in by e-mail)."
    )
    email = serializers.EmailField(help_text="The new account's address; a bound invite needs its own address.")
    password = serializers.CharField(write_only=True, style={"input_type": "password"})


class SignedUpSerializer(TokenPairSerializer):
    """The 201: the new user's id and the first pair of their session, named as ``POST /api/auth/token/``
    names them."""

    usuario = ReferenceField(read_only=True, source="family.user_id", help_text="The new user's primary key.")
