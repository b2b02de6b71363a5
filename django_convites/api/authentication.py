"""``Authorization: Bearer <credential>`` for DRF: API tokens (``cvp_...``) and JWT access tokens.

Put :class:`BearerAuthentication` in ``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``, or on a view.
A header with another scheme (``Basic``, ``Token``) is left to the next authentication class.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from django_convites import policy, tokens
from django_convites.api.exceptions import as_drf_error
from django_convites.exceptions import ConvitesError
from django_convites.net import client_ip, request_meta
from django_convites.policy import Credential, CredentialKind
from django_convites.services import api_tokens, sessions

API_TOKEN_PREFIX = f"{tokens.Kind.API_TOKEN.value}_"


class BearerAuthentication(BaseAuthentication):
    """Authenticates ``Bearer`` credentials; sets ``request.user`` and ``request.auth``.

    An API token costs one indexed query when valid or unknown, and none when malformed; ``request.auth``
    is then an :class:`~django_convites.services.api_tokens.AuthenticatedToken`; pair this class with
    :class:`~django_convites.api.permissions.HasScope` so its scope is enforced. A JWT access token costs
    no query when its signature or claims are wrong and one when they are right (the user, and whether
    the session is still live); ``request.auth`` is then an
    :class:`~django_convites.jwt_codec.AccessClaims`.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _sep, credential = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        credential = credential.strip()
        try:
            if credential.startswith(API_TOKEN_PREFIX):
                return api_tokens.authenticate(
                    credential,
                    client_ip=lambda: client_ip(request),
                    meta=lambda: request_meta(request),
                )
            return self.authenticate_access_token(request, credential)
        except ConvitesError as error:
            raise as_drf_error(error, challenge=True) from None

    def authenticate_access_token(self, request: Request, credential: str) -> tuple[Any, Any] | None:
        """A JWT access token: no query for a bad one, one (user and live family) for a good one."""
        user, claims = sessions.authenticate_access_token(credential)
        policy.set_credential(
            user, Credential(CredentialKind.JWT, second_factor=claims.two_factor, id=claims.family_id)
        )
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
