"""The app's OpenAPI schema as drf-spectacular generates it, for the tests of what it documents."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Prints the app's OpenAPI schema as JSON: drf-spectacular must be the schema class before any view is
#: imported (its decorators subclass the class of that moment), so this runs in a fresh interpreter.
SCHEMA_SCRIPT = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import tests.settings
tests.settings.REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
django.setup()
from drf_spectacular.generators import SchemaGenerator
schema = SchemaGenerator(urlconf="django_convites.api.urls").get_schema(request=None, public=True)
print(json.dumps(schema, default=str))
"""


@functools.cache
def api_schema() -> dict[str, Any]:
    """The schema of ``django_convites.api.urls``, generated in a fresh interpreter (once per test run:
    do not change what it returns)."""
    env = {**os.environ, "DATABASE_URL": "sqlite://:memory:"}
    done = subprocess.run(
        [sys.executable, "-c", SCHEMA_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# -- does an answer match the schema? ----------------------------------------------------------------------

#: Keywords of OpenAPI 3.0 schema objects that JSON Schema does not know, or that only describe.
_OPENAPI_ONLY = frozenset({"nullable", "readOnly", "writeOnly", "example", "discriminator", "xml", "externalDocs"})


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key in _OPENAPI_ONLY:
            continue
        if key in ("properties", "schemas"):  # maps of names to schemas: the names are no keywords
            converted[key] = {name: json_schema(child) for name, child in value.items()}
        else:
            converted[key] = json_schema(value)
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def operation_for(schema: dict[str, Any], method: str, path: str, prefix: str = "/api") -> tuple[str, dict[str, Any]]:
    """The path template of the schema that ``path`` (as the client sent it, under ``prefix``) matches, and
    its operation for ``method``."""
    import re

    bare = path.split("?", 1)[0]
    assert bare.startswith(prefix), path
    bare = bare[len(prefix) :]
    # Literal paths first: /tokens/validate/ is not /tokens/{ref}/.
    for template, operations in sorted(schema["paths"].items(), key=lambda item: item[0].count("{")):
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, bare) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the schema")


#: RFC 3339 (OpenAPI's ``date-time``): a date, a time, and ``Z`` or an offset in hours and minutes.
_DATE_TIME = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def format_checker() -> Any:
    """A JSON Schema format checker for the formats the schema uses, as schemathesis checks them."""
    import re

    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, pattern in (("date-time", _DATE_TIME), ("uuid", _UUID)):
        checker.checks(name)(
            lambda value, pattern=pattern: not isinstance(value, str) or bool(re.match(pattern, value))
        )
    return checker


def conformance_problems(schema: dict[str, Any], method: str, path: str, response: Any) -> list[str]:
    """What is wrong between ``response`` (a Django test response to ``method path``) and the schema: an
    undocumented status, a body that does not match its schema (formats ``date-time`` and ``uuid``
    included), an error code its enum does not list, a missing ``Retry-After``. Empty when the answer is
    what the schema says."""
    import jsonschema

    template, operation = operation_for(schema, method, path)
    where = f"{method} {template} -> {response.status_code}"
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        return [f"{where}: the status is not documented ({sorted(operation['responses'])})"]
    problems = []
    content = documented.get("content")
    if not content:
        if response.content:
            problems.append(f"{where}: documented without a body, answered {response.content[:200]!r}")
        return problems
    media_type = response.get("Content-Type", "").split(";")[0].strip()
    if media_type not in content:
        return [*problems, f"{where}: content type {media_type!r}, documented {sorted(content)}"]
    body = json.loads(response.content)
    root = {"components": json_schema(schema["components"]), **json_schema(content[media_type]["schema"])}
    validator = jsonschema.Draft7Validator(root, format_checker=format_checker())
    for error in validator.iter_errors(body):
        path_in_body = "/".join(str(part) for part in error.absolute_path)
        problems.append(f"{where}: {path_in_body or 'the body'}: {error.message}")
    for name, header in documented.get("headers", {}).items():
        if header.get("required") and name not in response:
            problems.append(f"{where}: the required header {name} is missing")
    if response.status_code == 429 and "Retry-After" not in response:
        problems.append(f"{where}: a 429 without Retry-After")
    return problems
