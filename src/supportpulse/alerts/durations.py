"""Durations in settings and requests: "200ms", "90s", "15m", "1h", "1d", "2w".

The one parser of these short forms: the settings module, alert and webhook
settings and the API all take their durations from here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|[smhdw])\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _short_duration(value: object) -> object:
    """Accept "15m", "4h", "1d", "2w" beside pydantic's seconds and ISO 8601."""
    if isinstance(value, str) and (match := _SHORT.match(value)):
        try:
            return timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
        except OverflowError:
            # A ValueError becomes a validation error naming the key.
            raise ValueError(f"duration '{value}' is too long") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(_short_duration)]


def format_duration(span: timedelta) -> str:
    """A duration in the largest unit that divides it: 1h, 90m, 45s, 2d."""
    seconds = span.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
