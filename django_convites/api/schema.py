"""OpenAPI descriptions for drf-spectacular, which stays optional (the ``openapi`` extra).

:func:`document` applies ``drf_spectacular.utils.extend_schema`` when drf-spectacular is installed and
does nothing otherwise. It also documents every error answer of the operation (docs/errors.rst): the ones
that follow from how the view is built (its authentication, permission and throttle classes, its body,
its cursor pages, the database) are worked out from the view when the schema is generated, and the ones
its services raise are named with ``errors=``. Every error answer shares the ``ConvitesError`` component
(``{detail, code}``; ``ConvitesValidationError`` adds DRF's field map for 400), with ``code`` narrowed to the
codes that operation can answer.

:class:`BearerScheme` tells drf-spectacular how
:class:`~django_convites.api.authentication.BearerAuthentication` works: two HTTP ``bearer`` schemes, a
JWT access token (``convitesJWT``) and an API token (``convitesApiToken``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from django.utils.functional import Promise
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from django_convites.exceptions import ConvitesError

try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.plumbing import ResolvedComponent
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
#: The same, or null.
NULLABLE_REFERENCE = {**REFERENCE, "nullable": True}


def secret_schema(kind: str, description: str = "") -> dict[str, Any]:
    """A secret the app issues (docs/security.rst): ``<kind>_``, then base62 characters (the random part
    and the checksum). A string of this shape may still be refused: the checksum is checked too."""
    from django_convites import tokens

    length = tokens.RANDOM_LENGTH + tokens.CHECK_LENGTH
    schema = {"type": "string", "pattern": f"^{kind}_[0-9A-Za-z]{{{length}}}$"}
    return {**schema, "description": description} if description else schema


#: The names of the security schemes of :class:`BearerScheme`.
JWT_SCHEME = "convitesJWT"
API_TOKEN_SCHEME = "convitesApiToken"  # noqa: S105 - a scheme's name, not a secret

#: The components every error answer refers to.
ERROR_COMPONENT = "ConvitesError"
VALIDATION_ERROR_COMPONENT = "ConvitesValidationError"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Every error of the API (docs/errors.rst). `detail` is human text in the request's language: show it, "
        "do not parse it. `code` is a stable machine code: branch on it."
    ),
    "properties": {
        "detail": {"type": "string", "description": "Human text, translated."},
        "code": {"type": "string", "description": "A stable machine code (docs/errors.rst)."},
    },
    "required": ["detail", "code"],
}
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "A 400: `detail` and `code` and, when input failed validation (`code` is `invalid`), DRF's field map: "
        "each wrong field with its messages (a list of strings; an object of them for the items of a list "
        "field), `non_field_errors` for the body as a whole."
    ),
    "properties": ERROR_SCHEMA["properties"],
    "required": ["detail", "code"],
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
    },
}

#: The error codes of DRF's exceptions (and the app's handlers) with their statuses; the app's own codes
#: come from :class:`~django_convites.exceptions.ConvitesError`.
_DRF_CODES: dict[str, frozenset[int]] = {
    "invalid": frozenset({400}),
    "parse_error": frozenset({400}),
    "not_authenticated": frozenset({401, 403}),
    "authentication_failed": frozenset({401, 403}),
    "permission_denied": frozenset({403}),
    "not_found": frozenset({404}),
    "method_not_allowed": frozenset({405}),
    "not_acceptable": frozenset({406}),
    "unsupported_media_type": frozenset({415}),
    "throttled": frozenset({429}),
}


def _subclasses(cls: type[ConvitesError]) -> Iterable[type[ConvitesError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_statuses() -> dict[str, frozenset[int]]:
    """Every error code the API can answer, with the statuses it can have (as docs/errors.rst lists them)."""
    codes: dict[str, set[int]] = {code: set(statuses) for code, statuses in _DRF_CODES.items()}
    classes: list[type[ConvitesError]] = [ConvitesError, *_subclasses(ConvitesError)]
    for cls in classes:
        codes.setdefault(cls.code, set()).update({cls.status_code, *cls.other_statuses})
    return {code: frozenset(statuses) for code, statuses in codes.items()}


#: ``("code", status)``, or just ``"code"`` for a code with one status.
ErrorDeclaration = str | tuple[str, int]


@dataclass(frozen=True)
class Errors:
    """What :func:`document` says about an operation's errors beyond what its view class implies."""

    #: Codes the operation's services (or its view) answer.
    codes: tuple[ErrorDeclaration, ...] = ()
    #: The view reads a JSON body though the schema documents none (400 ``parse_error``, 413, 415).
    reads_body: bool = False
    #: Response headers: name -> (description, the statuses that carry it, its JSON schema).
    headers: Mapping[str, tuple[str, tuple[int, ...], dict[str, Any]]] = field(default_factory=dict)
    #: OpenAPI links of a success: status -> {name: (operationId, {parameter: runtime expression})}.
    links: Mapping[int, Mapping[str, tuple[str, Mapping[str, str]]]] = field(default_factory=dict)


def declared(entries: Iterable[ErrorDeclaration], known: Mapping[str, frozenset[int]]) -> list[tuple[int, str]]:
    """``(status, code)`` for each declaration; a code with several statuses must name its status."""
    found: list[tuple[int, str]] = []
    for entry in entries:
        code, status = (entry, None) if isinstance(entry, str) else entry
        statuses = known.get(code)
        if statuses is None:
            raise ValueError(f"unknown error code {code!r}")
        if status is None:
            if len(statuses) != 1:
                raise ValueError(f"{code!r} has the statuses {sorted(statuses)}: name one")
            (status,) = statuses
        elif status not in statuses:
            raise ValueError(f"{code!r} is never answered with {status}")
        found.append((status, code))
    return found


def document(
    *,
    errors: Iterable[ErrorDeclaration] = (),
    reads_body: bool = False,
    headers: Mapping[str, tuple[str, tuple[int, ...], dict[str, Any]]] | None = None,
    links: Mapping[int, Mapping[str, tuple[str, Mapping[str, str]]]] | None = None,
    **kwargs: Any,
) -> Callable[[_F], _F]:
    """``extend_schema(**kwargs)`` when drf-spectacular is installed; otherwise leave the view as it is.

    ``errors``: the error codes the operation's services answer (``"code"``, or ``("code", status)`` for a
    code with several statuses); the rest are worked out from the view (:class:`ErrorResponses`).
    ``reads_body``: the view parses a JSON body the schema does not document. ``headers``: response headers,
    ``{name: (description, statuses, schema)}``. ``links``: OpenAPI links from a success to the operations
    that take what it answers, ``{status: {name: (operation_id, {parameter: "$response.body#/id"})}}``.
    """
    spec = Errors(codes=tuple(errors), reads_body=reads_body, headers=dict(headers or {}), links=dict(links or {}))
    declared(spec.codes, error_statuses())  # a typo fails at import, in the tests, not in a schema

    def decorate(view: _F) -> _F:
        if not SPECTACULAR:
            return view
        base = _schema_class()
        if base is not None:
            # extend_schema builds its class on the schema class it finds on the function.
            schema = type("ConvitesOperationSchema", (ErrorResponses, base), {"convites_errors": spec})
            view.kwargs = {**getattr(view, "kwargs", {}), "schema": schema}  # type: ignore[attr-defined]
        decorated: _F = extend_schema(**kwargs)(view)
        return decorated

    return decorate


def _schema_class() -> type[Any] | None:
    """The site's drf-spectacular schema class, or None when the site generates schemas another way."""
    from rest_framework.settings import api_settings

    base = api_settings.DEFAULT_SCHEMA_CLASS
    if not isinstance(base, type):
        base = type(base)
    return base if SPECTACULAR and issubclass(base, AutoSchema) else None


def field_schema(schema: dict[str, Any]) -> Callable[[_F], _F]:
    """``extend_schema_field(schema)`` for a serializer field class (or a method of a
    ``SerializerMethodField``), when drf-spectacular is installed."""

    def decorate(field: _F) -> _F:
        return extend_schema_field(schema)(field) if SPECTACULAR else field

    return decorate


def query(name: str, description: str, *, required: bool = False, kind: Any = str) -> OpenApiParameter | None:
    """A query-string parameter for :func:`document` (None without drf-spectacular)."""
    if not SPECTACULAR:
        return None
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, description=description)


def query_of(serializer: Any) -> list[Any]:
    """The query parameters a filter serializer validates, for ``document(parameters=...)``: drf-spectacular
    makes one parameter of each field, with its type and limits (an empty list without it)."""
    return [serializer] if SPECTACULAR else []


#: ``Retry-After`` on every 429 and 503 that carries it.
RETRY_AFTER = {
    "description": "Seconds to wait before sending the request again (always on 429; on 503 `database_busy` and `rate_limit_unavailable`).",
    "schema": {"type": "integer", "minimum": 0},
}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # pragma: no cover - every status here is a standard one
        return str(status)


def error_description(status: int, codes: Sequence[str]) -> str:
    """The description of an error response: its reason phrase and its codes."""
    listed = ", ".join(f"`{code}`" for code in codes)
    return f"{_reason(status)}: {listed}."


def _text(value: str | Promise) -> str:
    return str(value)


if SPECTACULAR:

    class ErrorResponses(AutoSchema):
        """A drf-spectacular schema class that adds the operation's error answers to its responses.

        :func:`document` puts it under the class ``extend_schema`` builds for a view method, with the
        method's :class:`Errors` as ``convites_errors``.
        """

        convites_errors: Errors = Errors()

        def get_operation(
            self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
        ) -> dict[str, Any] | None:
            operation: dict[str, Any] | None = super().get_operation(path, path_regex, path_prefix, method, registry)
            if operation is None:
                return None
            spec = self.convites_errors
            by_status: dict[int, set[str]] = {}
            reads_body = spec.reads_body or "requestBody" in operation
            for status, code in [*self.implied_errors(reads_body), *declared(spec.codes, error_statuses())]:
                by_status.setdefault(status, set()).add(code)
            responses: dict[str, Any] = operation["responses"]
            for status, codes in sorted(by_status.items()):
                responses[str(status)] = self.error_response(status, sorted(codes))
            for name, (description, statuses, schema) in spec.headers.items():
                for status in statuses:
                    if str(status) in responses:
                        responses[str(status)].setdefault("headers", {})[name] = {
                            "description": description,
                            "schema": schema,
                        }
            for status, named in spec.links.items():
                responses[str(status)]["links"] = {
                    name: {"operationId": operation_id, "parameters": dict(parameters)}
                    for name, (operation_id, parameters) in named.items()
                }
            operation["responses"] = dict(sorted(responses.items()))
            return operation

        def challenge_status(self) -> int:
            """401 when the view's first authentication class names a ``WWW-Authenticate`` scheme, else 403."""
            authenticators = self.view.get_authenticators()
            if not authenticators:
                return 403
            try:
                header = authenticators[0].authenticate_header(self.view.request)
            except Exception:
                header = "Bearer"
            return 401 if header else 403

        def implied_errors(self, reads_body: bool) -> list[tuple[int, str]]:
            """The errors the view's classes imply, whatever its services do."""
            from rest_framework.authentication import SessionAuthentication

            from django_convites.api.authentication import BearerAuthentication
            from django_convites.api.pagination import ValidatedCursorPagination
            from django_convites.api.permissions import HasScope, RequireTwoFactor
            from django_convites.api.throttling import RateLimitThrottle

            view = self.view
            found: list[tuple[int, str]] = [(503, "database_busy")]
            challenge = self.challenge_status()
            authenticators = view.get_authenticators()
            bearer = any(isinstance(item, BearerAuthentication) for item in authenticators)
            unsafe = self.method not in SAFE_METHODS
            if bearer:
                found += [(challenge, code) for code in ("authentication_failed", "token_expired", "token_revoked")]
                found.append((403, "ip_not_allowed"))
            elif authenticators:
                found.append((challenge, "authentication_failed"))
            if unsafe and any(isinstance(item, SessionAuthentication) for item in authenticators):
                found.append((403, "permission_denied"))  # CSRF
            for permission in view.get_permissions():
                if isinstance(permission, IsAuthenticated):
                    found.append((challenge, "not_authenticated"))
                elif isinstance(permission, RequireTwoFactor) and not getattr(view, "two_factor_exempt", False):
                    found.append((403, "two_factor_required"))
                elif isinstance(permission, HasScope) and bearer:
                    needs_more = permission.minimum is not None or getattr(view, "required_scope", None) is not None
                    if unsafe or needs_more:
                        found.append((403, "insufficient_scope"))
            throttles = view.get_throttles()
            if throttles:
                found.append((429, "throttled"))
            if any(isinstance(throttle, RateLimitThrottle) for throttle in throttles):
                found.append((503, "rate_limit_unavailable"))  # the cache that counts is down
            if reads_body:
                found += [(400, "parse_error"), (413, "request_too_large"), (415, "unsupported_media_type")]
            if self.method == "GET" and isinstance(getattr(view, "paginator", None), ValidatedCursorPagination):
                found.append((404, "not_found"))  # a cursor the list did not hand out
            return found

        def error_response(self, status: int, codes: list[str]) -> dict[str, Any]:
            """One error response: the shared component, with ``code`` narrowed to ``codes``."""
            validation = status == 400 and "invalid" in codes
            base = self.error_component(validation)
            narrowed = {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}}
            schema = {"allOf": [base, narrowed]}
            response: dict[str, Any] = {
                "description": error_description(status, codes),
                "content": {media_type: {"schema": schema} for media_type in self.map_renderers("media_type")},
            }
            if status in (429, 503):
                response["headers"] = {"Retry-After": RETRY_AFTER}
            return response

        def error_component(self, validation: bool) -> dict[str, str]:
            name, schema = (
                (VALIDATION_ERROR_COMPONENT, VALIDATION_ERROR_SCHEMA) if validation else (ERROR_COMPONENT, ERROR_SCHEMA)
            )
            component = ResolvedComponent(  # type: ignore[no-untyped-call]
                name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
            )
            self.registry.register_on_missing(component)
            ref: dict[str, str] = component.ref
            return ref

    class BearerScheme(OpenApiAuthenticationExtension):
        """``Authorization: Bearer``: a JWT access token or an API token, two schemes of the same header.
        A view that refuses API tokens (``interactive_only``, as the two-factor and authentication-code
        endpoints) names the JWT scheme alone."""

        target_class = "django_convites.api.authentication.BearerAuthentication"
        name = [JWT_SCHEME, API_TOKEN_SCHEME]

        def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
            if getattr(auto_schema.view, "interactive_only", False):
                return [{JWT_SCHEME: []}]
            return [{JWT_SCHEME: []}, {API_TOKEN_SCHEME: []}]

        def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
            return [
                {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT access token from POST /api/auth/token/ (short-lived; refresh it with "
                    "POST /api/auth/token/refresh/).",
                },
                {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "cvp_...",
                    "description": "An API token (cvp_...) from POST /api/api-tokens/; its scope limits what it "
                    "may do, and it never changes two-factor devices or spends authentication codes.",
                },
            ]

    class TargetTypeFieldExtension(OpenApiSerializerFieldExtension):
        """``tipo_destino`` in a request: an enum of the site's ``TARGET_TYPES``, read when the schema is
        generated, so the schema a site serves lists the types that site accepts."""

        target_class = "django_convites.api.serializers.invites.TargetTypeField"

        def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
            from django_convites.conf import app_settings

            return {
                "type": "string",
                "enum": sorted(app_settings.TARGET_TYPES),
                "description": _text(self.target.help_text or ""),
            }
