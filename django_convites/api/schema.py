"""OpenAPI descriptions for drf-spectacular, which stays optional (the ``openapi`` extra).

:func:`document` applies ``drf_spectacular.utils.extend_schema`` when drf-spectacular is installed and
does nothing otherwise; :class:`BearerScheme` tells drf-spectacular how
:class:`~django_convites.api.authentication.BearerAuthentication` works (HTTP ``bearer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension
    from drf_spectacular.utils import (
        OpenApiParameter,
        extend_schema,
        extend_schema_field,
    )
except ImportError:  # pragma: no cover - exercised by installs without the extra
    SPECTACULAR = False
else:
    SPECTACULAR = True

_F = TypeVar("_F", bound=Callable[..., Any])

#: A host model's id: an integer or a string (a UUID, a slug).
REFERENCE = {"oneOf": [{"type": "integer"}, {"type": "string"}]}


def document(**kwargs: Any) -> Callable[[_F], _F]:
    """``extend_schema(**kwargs)`` when drf-spectacular is installed; otherwise leave the view as it is."""

    def decorate(view: _F) -> _F:
        return extend_schema(**kwargs)(view) if SPECTACULAR else view

    return decorate


def field_schema(schema: dict[str, Any]) -> Callable[[_F], _F]:
    """``extend_schema_field(schema)`` for a serializer field class, when drf-spectacular is installed."""

    def decorate(field: _F) -> _F:
        return extend_schema_field(schema)(field) if SPECTACULAR else field

    return decorate


def query(name: str, description: str, *, required: bool = False, kind: Any = str) -> OpenApiParameter | None:
    """A query-string parameter for :func:`document` (None without drf-spectacular)."""
    if not SPECTACULAR:
        return None
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, description=description)


if SPECTACULAR:

    class BearerScheme(OpenApiAuthenticationExtension):
        target_class = "django_convites.api.authentication.BearerAuthentication"
        name = "bearer"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            return {
                "type": "http",
                "scheme": "bearer",
                "description": "A JWT access token from POST /api/auth/token/, or an API token (cvp_...).",
            }
