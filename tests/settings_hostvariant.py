"""A host configured differently from the test settings: migrations must not change with it."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "pt-br"
TIME_ZONE = "UTC"
DJANGO_CONVITES = {
    "TARGET_TYPES": {"parceiro": "gestor", "visitante": "usuario"},
    "ROLE_GROUPS": {"admin": "Administradores", "gestor": "Gestores"},
    "TRUSTED_PROXIES": 1,
}
