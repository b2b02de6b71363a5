"""What every serializer of the API shares."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses keys it does not know, so a typo (``nucleo`` for ``nucleos``) is a 400, not ignored."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, Mapping):
            unknown = sorted(str(key) for key in self.initial_data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: [_("Unknown field.")] for key in unknown})
        return attrs


#: An ISO 8601 offset with seconds (``-03:06:28``), which RFC 3339 (OpenAPI's ``date-time``) has no room for.
_OFFSET_WITH_SECONDS = re.compile(r"[+-]\d{2}:\d{2}:\d{2}(?:\.\d+)?$")


class RFC3339DateTimeField(serializers.DateTimeField):
    """DRF's ``DateTimeField`` whose answer is always an RFC 3339 ``date-time``, as the schema says.

    DRF renders an instant in the site's time zone; for an instant before that zone adopted standard time
    (a ``desde`` of year 7, in ``America/Sao_Paulo``) the offset is local mean time, ``-03:06:28``, which
    RFC 3339 cannot write. Such an instant is given in UTC instead (``...Z``); every other answer is DRF's.
    """

    def to_representation(self, value: Any) -> Any:
        text = super().to_representation(value)
        if isinstance(text, str) and isinstance(value, datetime.datetime) and _OFFSET_WITH_SECONDS.search(text):
            moment = self.enforce_timezone(value).astimezone(datetime.timezone.utc)
            text = moment.isoformat().replace("+00:00", "Z")
        return text
