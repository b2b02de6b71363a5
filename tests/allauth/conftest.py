"""Collect this folder only under its own settings (``--ds tests.allauth.settings``), which install
django-allauth; the main run's settings do not (tox.ini runs both)."""

from __future__ import annotations

from django.conf import settings

if "allauth.account" not in settings.INSTALLED_APPS:
    collect_ignore_glob = ["test_*.py"]
