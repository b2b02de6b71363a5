"""Where the demo's mail goes, for the commands that tell the person where to look."""

from __future__ import annotations

from django.conf import settings

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def mail_folder() -> str | None:
    """The folder mail is written to as files, or None when it is printed to the console. Django 6.1
    names its backends in ``MAILERS`` (and then has no ``EMAIL_BACKEND``); earlier versions in
    ``EMAIL_BACKEND`` and ``EMAIL_FILE_PATH``."""
    mailers = getattr(settings, "MAILERS", None)
    if mailers:
        default = mailers.get("default", {})
        return default.get("OPTIONS", {}).get("file_path") if default.get("BACKEND") == FILE_BACKEND else None
    return getattr(settings, "EMAIL_FILE_PATH", None) if settings.EMAIL_BACKEND == FILE_BACKEND else None
