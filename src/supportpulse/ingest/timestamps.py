"""Turning the timestamp spellings found in exports into naive UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from supportpulse.errors import RecordError

# twcs writes times as "Tue Oct 31 22:10:47 +0000 2017".
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"
_OTHER_FORMATS = (
    _TWITTER_FORMAT,
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
)


def parse_timestamp(value: object, zone: tzinfo, field: str) -> datetime:
    """Read one timestamp; naive values are in `zone`; the result is naive UTC.

    Accepts ISO 8601 (with or without offset, `Z` included), the twcs form,
    and epoch seconds. Raises RecordError naming the field otherwise.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value, field)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{field} is empty")

    text = value.strip()
    parsed = _parse_text(text)
    if parsed is None:
        raise RecordError(
            f"{field} '{text[:40]}' is not a timestamp; use ISO 8601 like 2024-01-31 09:00:00"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC).replace(tzinfo=None)


def parse_optional_timestamp(
    value: object, zone: tzinfo, field: str
) -> datetime | None:
    """Like parse_timestamp, but an empty value is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_timestamp(value, zone, field)


def _parse_text(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for layout in _OTHER_FORMATS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    if text.replace(".", "", 1).isdigit():
        return _from_epoch(float(text), "timestamp").replace(tzinfo=UTC)
    return None


def _from_epoch(value: float, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise RecordError(
            f"{field} {value} is out of range for epoch seconds"
        ) from None
