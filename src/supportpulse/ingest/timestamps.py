"""Turning the timestamp spellings found in exports into naive UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from supportpulse.errors import RecordError

# twcs writes times as "Tue Oct 31 22:10:47 +0000 2017".
_TWITTER_FORMAT = "%a %b %d %H:%M:%S %z %Y"
# Only unambiguous layouts: 01/02/2024 could be either day or month first, so
# such values are quarantined with a hint rather than guessed.
_OTHER_FORMATS = (
    _TWITTER_FORMAT,
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"}
)
#: Epoch values above this are milliseconds (it is year 5138 in seconds).
_EPOCH_MILLISECONDS_FROM = 1e11


def parse_timestamp(value: object, zone: tzinfo, field: str) -> datetime:
    """Read one timestamp; naive values are in `zone`; the result is naive UTC.

    Accepts ISO 8601 (with or without offset, `Z` included), the twcs form,
    and epoch seconds or milliseconds. Raises RecordError naming the field
    otherwise.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None and _is_utc(zone):
            # Database drivers hand most rows over like this; converting
            # them would cost a third of a row's normalization for nothing.
            return value
        moment = value if value.tzinfo is not None else value.replace(tzinfo=zone)
        try:
            return moment.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise RecordError(f"{field} '{value}' is out of range in UTC") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(value, field)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{field} is empty")

    text = value.strip()
    parsed = _parse_text(text, field)
    if parsed is None:
        raise RecordError(
            f"{field} '{text[:40]}' is not a timestamp; use ISO 8601 like 2024-01-31 09:00:00"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise RecordError(f"{field} '{text[:40]}' is out of range in UTC") from None


def _is_utc(zone: tzinfo) -> bool:
    return zone is UTC or getattr(zone, "key", None) in _UTC_NAMES


def parse_optional_timestamp(
    value: object, zone: tzinfo, field: str
) -> datetime | None:
    """Like parse_timestamp, but an empty value is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_timestamp(value, zone, field)


def _parse_text(text: str, field: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for layout in _OTHER_FORMATS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    if text.replace(".", "", 1).isascii() and text.replace(".", "", 1).isdigit():
        return _from_epoch(float(text), field).replace(tzinfo=UTC)
    return None


def _from_epoch(value: float, field: str) -> datetime:
    seconds = value / 1000 if abs(value) >= _EPOCH_MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        raise RecordError(
            f"{field} {value} is out of range for epoch seconds"
        ) from None
