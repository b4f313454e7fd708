"""Window bounds as people type them: ISO 8601 times or ages like 24h and 7d."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from supportpulse.config import Settings
from supportpulse.errors import RecordError, UserError
from supportpulse.ingest.timestamps import parse_timestamp

_AGO = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_AGO_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(value: str | None, option: str, settings: Settings) -> datetime | None:
    """An ISO 8601 time (naive means the configured zone) or an age like 24h/7d,
    as naive UTC; UserError names `option` when it is neither."""
    if value is None:
        return None
    if match := _AGO.match(value):
        try:
            age = timedelta(**{_AGO_UNIT[match[2]]: int(match[1])})
            return datetime.now(UTC).replace(tzinfo=None) - age
        except OverflowError:
            raise UserError(
                f"{option} '{value}' reaches before year 1; use a shorter age"
            ) from None
    try:
        return parse_timestamp(value, settings.zone, option)
    except RecordError:
        raise UserError(
            f"{option} '{value}' is not a time; use ISO 8601 (2024-01-31T09:00) "
            "or an age like 24h or 7d"
        ) from None
