"""A Sphinx extension that writes the API reference from the app's OpenAPI schema at build time.

``.. convites-openapi::`` in a page becomes, for every operation of the schema drf-spectacular generates
for ``django_convites.api.urls`` (:func:`tests.schema.api_schema`, the schema the tests check), its
parameters, request body, responses, error codes and headers; then every schema component and the
security schemes. The paths are shown under ``/api``, where the quickstart mounts the API.

The page is read again at every build (the schema lives in the code, not in the page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

#: Where the quickstart mounts the API.
PREFIX = "/api"
#: The label of a schema component's section.
LABEL = "convites-openapi-{name}"
#: Groups of operations, by the first segment of their path, in page order.
GROUPS = {
    "tokens": "Invites",
    "api-tokens": "API tokens",
    "auth": "Sessions",
    "2fa": "Two-factor authentication",
    "codigos": "Authentication codes",
    "auditoria": "Audit log",
}
METHODS = ("get", "post", "put", "patch", "delete")
SCHEME_NAMES = {
    "convitesJWT": "JWT access token",
    "convitesApiToken": "API token",
    "cookieAuth": "session",
}

_ROLE = re.compile(r":[\w:.-]+:`([^`<]*?)(?:\s*<[^>]*>)?`")
_CODE = re.compile(r"``(.+?)``|`([^`]+)`")
_SPECIAL = re.compile(r"([\\*_|`\[\]<>])")


def inline(text: object) -> str:
    """``text`` (a description: plain text with Markdown or reST code spans) as one line of reST: code spans
    become literals, Sphinx roles their text, and everything else is escaped."""
    flat = " ".join(str(text or "").split())
    flat = _ROLE.sub(lambda match: f"``{match.group(1).strip()}``", flat)
    parts: list[str] = []
    position = 0
    for match in _CODE.finditer(flat):
        parts.append(_SPECIAL.sub(r"\\\1", flat[position : match.start()]))
        code = (match.group(1) or match.group(2)).strip()
        parts.append(f"``{code}``" if code else "")
        position = match.end()
    parts.append(_SPECIAL.sub(r"\\\1", flat[position:]))
    return "".join(parts).strip()


def heading(title: str, underline: str) -> list[str]:
    return [title, underline * len(title), ""]


def ref_name(node: dict[str, Any]) -> str | None:
    reference = node.get("$ref")
    if reference is None and len(node.get("allOf", [])) == 1:
        reference = node["allOf"][0].get("$ref")
    return reference.rsplit("/", 1)[1] if reference else None


def link(name: str) -> str:
    return f":ref:`{name} <{LABEL.format(name=name.lower())}>`"


def type_of(node: dict[str, Any]) -> str:
    """A schema as a short phrase: ``string (date-time)``, ``array of`` a link, ``integer or string``..."""
    name = ref_name(node)
    if name:
        text = link(name)
    elif "enum" in node:
        text = ", ".join(f"``{value}``" for value in node["enum"])
    elif node.get("type") == "array":
        text = f"array of {type_of(node.get('items', {}))}"
    elif "oneOf" in node or "anyOf" in node:
        text = " or ".join(type_of(option) for option in node.get("oneOf", node.get("anyOf", [])))
    elif "type" in node:
        text = str(node["type"])
        if "format" in node:
            text += f" ({node['format']})"
    else:
        text = "any JSON value"
    if node.get("nullable"):
        text += " or null"
    return text


def limits(node: dict[str, Any]) -> str:
    found = []
    if node.get("minLength") == 1:
        node = {key: value for key, value in node.items() if key != "minLength"}
        if "enum" not in node:
            found.append("not empty")
    for key, text in (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
        ("maxItems", "at most {} items"),
        ("default", "default ``{}``"),
    ):
        if key in node:
            value = node[key]
            found.append(text.format(json.dumps(value) if key == "default" else value))
    return "; ".join(found)


def describe(node: dict[str, Any], extra: Iterable[str] = ()) -> str:
    description = str(node.get("description") or "")
    if description.startswith("* `"):  # drf-spectacular's list of a choice field's values: the type lists them
        description = ""
    parts = [inline(description), *extra, limits(node)]
    return " ".join(part.rstrip(".") + "." for part in parts if part)


def table(headers: list[str], rows: list[list[str]], widths: str) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [headers, *rows]:
        for index, cell in enumerate(row):
            lines.append(f"   {'*' if index == 0 else ' '} - {cell or '..'}")
    return [*lines, ""]


def security_text(operation: dict[str, Any]) -> str:
    names = []
    for requirement in operation.get("security", []):
        if not requirement:
            names.append("none (anonymous requests are answered)")
        for name in requirement:
            names.append(SCHEME_NAMES.get(name, name))
    return ", ".join(names) or "none"


def error_codes(response: dict[str, Any]) -> list[str]:
    schema = next(iter(response.get("content", {}).values()), {}).get("schema", {})
    for part in schema.get("allOf", []):
        codes = part.get("properties", {}).get("code", {}).get("enum")
        if codes:
            return list(codes)
    return []


def body_of(response: dict[str, Any]) -> str:
    content = response.get("content")
    if not content:
        return "no body"
    media_type, media = next(iter(content.items()))
    schema = media.get("schema", {})
    base = schema["allOf"][0] if "allOf" in schema and len(schema["allOf"]) > 1 else schema
    return f"{type_of(base)} (``{media_type}``)"


def operation_lines(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    lines = heading(f"``{method.upper()} {PREFIX}{path}``", "~")
    for text in (operation.get("summary"), operation.get("description")):
        if text:
            lines += [inline(text), ""]
    lines += [
        f":Operation: ``{operation['operationId']}``",
        f":Authentication: {security_text(operation)}",
        "",
    ]
    parameters = operation.get("parameters", [])
    if parameters:
        rows = [
            [
                f"``{parameter['name']}``",
                parameter["in"] + (", required" if parameter.get("required") else ""),
                type_of(parameter.get("schema", {})),
                describe({**parameter.get("schema", {}), "description": parameter.get("description")}),
            ]
            for parameter in parameters
        ]
        lines += ["**Parameters**", "", *table(["Name", "In", "Type", "Description"], rows, "15 15 25 45")]
    body = operation.get("requestBody")
    if body:
        media_type, media = next(iter(body["content"].items()))
        required = "required" if body.get("required") else "optional"
        lines += [f"**Request body** ({required}, ``{media_type}``): {type_of(media.get('schema', {}))}", ""]
    rows = []
    for status, response in operation["responses"].items():
        notes = []
        codes = error_codes(response)
        if codes:
            notes.append("codes: " + ", ".join(f"``{code}``" for code in codes))
        elif int(status) < 400 and response.get("description"):
            notes.append(inline(response["description"]))
        for name, header in response.get("headers", {}).items():
            # Retry-After is the same everywhere (the page's introduction says what it means).
            said = "" if name == "Retry-After" else f": {inline(header.get('description', ''))}"
            notes.append(f"header ``{name}``{said}")
        rows.append([f"``{status}``", body_of(response), "; ".join(notes)])
    lines += ["**Responses**", "", *table(["Status", "Body", "Error codes and headers"], rows, "10 35 55")]
    return lines


def component_lines(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f".. _{LABEL.format(name=name.lower())}:", "", *heading(f"``{name}``", "~")]
    if schema.get("description") and not str(schema["description"]).startswith("* `"):
        lines += [inline(schema["description"]), ""]
    if "enum" in schema:
        lines += ["One of: " + ", ".join(f"``{value}``" for value in schema["enum"]) + ".", ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        rows = []
        for field, node in properties.items():
            flags = [
                word for word, on in (("read-only", node.get("readOnly")), ("write-only", node.get("writeOnly"))) if on
            ]
            rows.append(
                [
                    f"``{field}``",
                    type_of(node),
                    "yes" if field in required else "no",
                    describe(node, [", ".join(flags)] if flags else []),
                ]
            )
        lines += table(
            ["Field", "Type", "Always there" if "readOnly" in str(schema) else "Required", "Description"],
            rows,
            "20 25 10 45",
        )
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        lines += [f"Any other key: {type_of(extra)}.", ""]
    return lines


def group_of(path: str) -> str:
    segment = path.strip("/").split("/", 1)[0]
    return GROUPS.get(segment, segment)


def render(schema: dict[str, Any]) -> str:
    """The reST of the whole reference for ``schema``."""
    by_group: dict[str, list[tuple[str, str, dict[str, Any]]]] = {name: [] for name in GROUPS.values()}
    for path, operations in schema["paths"].items():
        for method in METHODS:
            if method in operations:
                by_group.setdefault(group_of(path), []).append((path, method, operations[method]))
    lines: list[str] = []
    for group, operations in by_group.items():
        if not operations:
            continue
        lines += heading(group, "-")
        for path, method, operation in operations:
            lines += operation_lines(path, method, operation)
    lines += heading("Schemas", "-")
    for name, component in sorted(schema["components"].get("schemas", {}).items()):
        lines += component_lines(name, component)
    lines += heading("Security schemes", "-")
    rows = [
        [
            f"``{name}``",
            SCHEME_NAMES.get(name, name),
            f"{scheme['type']} {scheme.get('scheme') or scheme.get('in', '')}",
            inline(scheme.get("description", "")),
        ]
        for name, scheme in schema["components"].get("securitySchemes", {}).items()
    ]
    lines += table(["Name", "What", "Type", "Description"], rows, "20 20 15 45")
    return "\n".join(lines) + "\n"


_CACHE: dict[str, Any] = {}


def api_schema() -> dict[str, Any]:
    """The schema, generated once per build the way the tests generate it."""
    if "schema" not in _CACHE:
        from tests.schema import api_schema as generate

        _CACHE["schema"] = generate()
    schema: dict[str, Any] = _CACHE["schema"]
    return schema


def directive() -> type[Any]:
    """``.. convites-openapi::``: the reference, inserted in the page as if written there. Docutils is
    imported here, at build time only: the tests import :func:`render` without it."""
    from docutils.parsers.rst import Directive

    class OpenAPIReference(Directive):
        has_content = False

        def run(self) -> list[Any]:
            source = self.state_machine.get_source_and_line(self.lineno)[0] or "api-reference"
            self.state_machine.insert_input(render(api_schema()).splitlines(), f"{source} (OpenAPI schema)")
            return []

    return OpenAPIReference


def _always_outdated(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    return [name for name in env.found_docs if name == "api-reference"]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("convites-openapi", directive())
    app.connect("env-get-outdated", _always_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
