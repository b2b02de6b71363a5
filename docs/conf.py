"""Sphinx configuration of the django-convites documentation."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The docs' own extensions: convites_openapi writes api-reference.rst's reference from the OpenAPI schema.
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

# autodoc imports the models, so Django must be set up first; the test settings need no database server.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

project = "django-convites"
author = "django-convites contributors"
copyright = "django-convites contributors"
release = importlib.import_module("django_convites").__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "convites_openapi",
]

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}

# CHANGELOG.md is written for GitHub; its heading levels are not Sphinx's business.
suppress_warnings = ["myst.header"]

html_theme = "furo"
html_title = f"django-convites {release}"
html_static_path: list[str] = []
