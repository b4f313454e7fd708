"""The Intercom source against the fake: version pinned, errors, paging rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from supportpulse.config import Settings
from supportpulse.errors import FatalSourceError
from supportpulse.fakes import serving
from supportpulse.fakes.intercom import IntercomApp, IntercomLimits
from supportpulse.fakes.intercom_desk import IntercomDesk
from supportpulse.sources.base import Cursor
from supportpulse.sources.intercom import API_VERSION, IntercomOptions, IntercomSource
from supportpulse.sources.intercom_records import Position, plain, step

TOKEN = "source-token"


def _source(url: str, token: str = TOKEN, **options: Any) -> IntercomSource:
    return IntercomSource(
        "ic", IntercomOptions(base_url=url, access_token=token, **options), Settings()
    )


async def _drain(
    source: IntercomSource, cursor: Cursor | None = None
) -> list[dict[str, Any]]:
    delivered: list[dict[str, Any]] = []
    try:
        while True:
            page = await source.pull(cursor)
            delivered.extend(page.records)
            cursor = page.cursor
            if not page.more:
                return delivered
    finally:
        await source.close()


@pytest.fixture
def desk() -> IntercomDesk:
    desk = IntercomDesk(seed=5)
    desk.populate(90)
    return desk


def test_intercom_source_pins_the_api_version_and_reads_everything_once(
    desk: IntercomDesk,
) -> None:
    app = IntercomApp(desk, TOKEN, IntercomLimits(calls_per_window=10**6))
    with serving(app.app) as served:
        delivered = asyncio.run(_drain(_source(served.url, per_page=20)))

    ids = [record["conversation"]["id"] for record in delivered]
    assert sorted(ids) == sorted(desk.conversations)
    assert app.versions_seen == {API_VERSION}
    assert all("conversation_parts" in record["conversation"] for record in delivered)


def test_intercom_source_searches_again_when_a_token_is_refused(
    desk: IntercomDesk,
) -> None:
    app = IntercomApp(desk, TOKEN, IntercomLimits(calls_per_window=10**6))
    stale = Position(0, after="bm90IGEgdG9rZW4=").as_json()
    with serving(app.app) as served:
        delivered = asyncio.run(_drain(_source(served.url), stale))

    assert {r["conversation"]["id"] for r in delivered} == set(desk.conversations)


def test_intercom_source_stops_on_a_wrong_token_naming_the_setting(
    desk: IntercomDesk,
) -> None:
    app = IntercomApp(desk, TOKEN)
    with serving(app.app) as served, pytest.raises(FatalSourceError) as failure:
        asyncio.run(_drain(_source(served.url, token="canary-wrong-token")))

    assert "INTERCOM_TOKEN" in str(failure.value)
    assert "canary-wrong-token" not in str(failure.value)


def test_intercom_step_skips_the_inclusive_boundary_once_settled() -> None:
    rows = [{"id": "1", "updated_at": 100}, {"id": "2", "updated_at": 105}]

    first = step(Position(0), rows, None, server_now=110)
    again = step(first.position, rows[1:], None, server_now=111)
    early = step(Position(0), rows, None, server_now=105)

    assert first.position == Position(105, None, ("2",))
    assert again.fresh == []
    assert early.position.seen == ()


def test_intercom_plain_text_drops_markup() -> None:
    assert plain("<p>Hello <b>there</b></p><p>again</p>") == "Hello there again"
