"""Collect this folder only under the settings that name one of its user models (``settings_*.py``)."""

from __future__ import annotations

from django.conf import settings

if not settings.AUTH_USER_MODEL.startswith("user_models."):
    collect_ignore_glob = ["test_*.py"]
