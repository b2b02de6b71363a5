"""Keeping secrets out of Django's request logs.

Django logs the path of every 4xx and 5xx answer (logger ``django.request``, with the request attached,
which handlers such as ``AdminEmailHandler`` render in full), and ``runserver`` every request line
(``django.server``). A path may hold an invite's code: the accept link ``/tokens/convites/aceitar/<codigo>/``
and the API's ``/api/tokens/<codigo>/...``. :class:`RedactTokens`, which the app adds to both loggers when
it starts, cuts every token-shaped part of such a record to its kind (``cvi_[redacted]``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django_convites import tokens

#: The loggers the app filters: Django's request errors and runserver's request lines.
REQUEST_LOGGERS = ("django.request", "django.server")


class RedactTokens(logging.Filter):
    """Redact token-shaped text in a record's message and arguments, and drop the request it carries
    when the request's path holds a token (a handler would print that path, its query and its headers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = tokens.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(tokens.redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: tokens.redact(arg) if isinstance(arg, str) else arg for key, arg in record.args.items()}
        path = getattr(getattr(record, "request", None), "get_full_path", None)
        if callable(path):
            full_path = path()
            if isinstance(full_path, str) and tokens.redact(full_path) != full_path:
                record.request = None
        return True


def install() -> None:
    """Add :class:`RedactTokens` to :data:`REQUEST_LOGGERS`, once (``AppConfig.ready()`` calls it)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
            logger.addFilter(RedactTokens())
