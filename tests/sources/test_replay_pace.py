"""Replay pacing: history compressed by `speed`, quiet spells cut to `max_gap`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from supportpulse.config import Settings, SourceSettings
from supportpulse.engine.runner import build_source
from supportpulse.sources.base import PushSource
from supportpulse.sources.replay import wall_offsets

pytestmark = pytest.mark.timeout(60)

START = datetime(2016, 8, 6, 1, 31)


def test_wall_offsets_divide_by_speed_and_cut_long_gaps() -> None:
    moments = [START, START + timedelta(seconds=60), START + timedelta(days=400)]

    assert wall_offsets(moments, 60.0, None) == [0.0, 1.0, 400 * 86400 / 60]
    assert wall_offsets(moments, 60.0, timedelta(seconds=2)) == [0.0, 1.0, 3.0]
    assert wall_offsets(moments, 0.0, timedelta(seconds=2)) == [0.0, 0.0, 0.0]


def test_replay_streams_records_years_apart_without_waiting_for_them(
    tmp_path: Path,
) -> None:
    # At speed 1 the second ticket is five years away; max_gap brings it on.
    export = tmp_path / "export.csv"
    export.write_text(
        "ticket_id,created_at,team\nT1,2011-08-29 03:20:05,a\nT2,2016-08-06 01:31:50,b\n",
        encoding="utf-8",
    )
    config = SourceSettings(
        name="history",
        type="replay",
        options={"path": str(export), "speed": 1, "max_gap": "50ms"},
    )
    source = build_source(config, Settings())
    assert isinstance(source, PushSource)

    async def streamed() -> list[str]:
        pages = [page async for page in source.stream(None)]
        return [record["ticket_id"] for page in pages for record in page.records]

    assert asyncio.run(streamed()) == ["T1", "T2"]
