"""The test settings with ``user_models.UuidUser`` as ``AUTH_USER_MODEL``."""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.user_models"]
AUTH_USER_MODEL = "user_models.UuidUser"
