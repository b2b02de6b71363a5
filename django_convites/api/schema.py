"""OpenAPI descriptions for drf-spectacular, which stays optional (the ``openapi`` extra).

:func:`document` applies ``drf_spectacular.utils.extend_schema`` when drf-spectacular is installed and
does nothing otherwise; :class:`BearerScheme` tells drf-spectacular how
:class:`~django_convites.api.authentication.BearerAuthentication` works (HTTP ``bearer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension
    from drf_spectacular.utils import (
        OpenApiParameter,
        extend_schema,
        extend_schema_field,
    )
except ImportError:  # pragma: no cover - exercised by installs without the extra
    OpenApiAuthenticationExtension = None
    OpenApiParameter = None
    extend_schema = extend_schema_field = None

#: A host model's id: an integer or a string (a UUID, a slug).
REFERENCE = {"oneOf": [{"type": "integer"}, {"type": "string"}]}


def document(**kwargs: Any) -> Callable[[Any], Any]:
    """``extend_schema(**kwargs)`` when drf-spectacular is installed; otherwise leave the view as it is."""

    def decorate(view: Any) -> Any:
        return extend_schema(**kwargs)(view) if extend_schema is not None else view

    return decorate


def field_schema(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """``extend_schema_field(schema)`` for a serializer field class, when drf-spectacular is installed."""

    def decorate(field: Any) -> Any:
        return extend_schema_field(schema)(field) if extend_schema_field is not None else field

    return decorate


def query(name: str, description: str, *, required: bool = False, kind: Any = str) -> Any:
    """A query-string parameter for :func:`document` (None without drf-spectacular)."""
    if OpenApiParameter is None:
        return None
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, description=description)


if OpenApiAuthenticationExtension is not None:

    class BearerScheme(OpenApiAuthenticationExtension):  # type: ignore[misc,valid-type]
        target_class = "django_convites.api.authentication.BearerAuthentication"
        name = "bearer"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            return {
                "type": "http",
                "scheme": "bearer",
                "description": "A JWT access token from POST /api/auth/token/, or an API token (cvp_...).",
            }
