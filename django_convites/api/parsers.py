from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from django_convites.conf import app_settings
from django_convites.exceptions import RequestTooLarge

_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string in ``value``, a key or a value at any depth, holds an unpaired surrogate.

    ``json.loads`` turns a ``"\\ud800"`` escape into a string that no codec can encode: the throttle
    key, the audit row and the 400 body would then fail on it. Walked without recursion.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_depth(value: Any) -> int:
    """Deepest nesting of lists and dicts in ``value``, computed without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the limits docs/errors.rst names.

    The body is read up to ``MAX_BODY_SIZE`` (larger: 413 ``request_too_large``); invalid UTF-8,
    ``NaN``/``Infinity``, numbers out of range, nesting deeper than ``MAX_JSON_DEPTH`` and a string (key
    or value) with an unpaired surrogate escape such as ``"\\ud800"`` are 400 ``parse_error`` instead of a
    500 or a silently accepted ``inf``.
    """

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return {}
        limit = app_settings.MAX_BODY_SIZE
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError(
                _("JSON parse error: the body is not valid %(encoding)s.") % {"encoding": encoding}
            ) from None
        try:
            data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError:
            raise ParseError(_("JSON parse error: nested too deeply.")) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error: %(error)s") % {"error": exc}) from None
        if json_depth(data) > app_settings.MAX_JSON_DEPTH:
            raise ParseError(_("JSON parse error: nested too deeply."))
        # Only an escape can produce a surrogate: a decoded body never holds one.
        if "\\u" in text and has_lone_surrogate(data):
            raise ParseError(_("JSON parse error: a string holds an unpaired surrogate escape."))
        return data
