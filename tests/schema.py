"""The app's OpenAPI schema as drf-spectacular generates it, for the tests of what it documents."""

from __future__ import annotations

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


def api_schema() -> dict[str, Any]:
    """The schema of ``django_convites.api.urls``, generated in a fresh interpreter."""
    env = {**os.environ, "DATABASE_URL": "sqlite://:memory:"}
    done = subprocess.run(
        [sys.executable, "-c", SCHEMA_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]
