"""A runnable site that mounts django-convites: see ``example_project/README.md``."""

from __future__ import annotations
