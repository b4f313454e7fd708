"""Timestamps handed over as datetime objects by database drivers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from supportpulse.errors import RecordError
from supportpulse.ingest.timestamps import parse_timestamp


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("UTC"), ZoneInfo("Etc/UTC")])
def test_parse_timestamp_keeps_a_naive_datetime_read_in_utc(zone: ZoneInfo) -> None:
    moment = datetime(2024, 3, 31, 1, 30)

    assert parse_timestamp(moment, zone, "created_at") == moment


def test_parse_timestamp_moves_a_naive_datetime_from_the_configured_zone() -> None:
    # 01:30 in Berlin on the last Sunday of March is still winter time (UTC+1).
    moment = datetime(2024, 3, 31, 1, 30)

    parsed = parse_timestamp(moment, ZoneInfo("Europe/Berlin"), "created_at")

    assert parsed == datetime(2024, 3, 31, 0, 30)


def test_parse_timestamp_converts_an_aware_datetime_whatever_the_zone() -> None:
    moment = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5)))

    assert parse_timestamp(moment, UTC, "created_at") == datetime(2024, 1, 1, 17)


def test_parse_timestamp_refuses_an_aware_datetime_beyond_the_calendar() -> None:
    moment = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))

    with pytest.raises(RecordError, match=r"created_at .* out of range in UTC"):
        parse_timestamp(moment, UTC, "created_at")
