"""The simulated source: paged, resumable, paced, and normalized like any source."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from supportpulse.config import Settings
from supportpulse.simulation import HelpdeskModel, timeline
from supportpulse.sources.base import Cursor, Page
from supportpulse.sources.simulated import SimulatedOptions, SimulatedSource

pytestmark = pytest.mark.timeout(120)

START = datetime(2024, 3, 4)
UNTIL = datetime(2024, 3, 6)


def _source(**options: Any) -> SimulatedSource:
    return SimulatedSource(
        "helpdesk", SimulatedOptions.model_validate(options), Settings()
    )


async def _pages(source: SimulatedSource, cursor: Cursor | None) -> list[Page]:
    return [page async for page in source.stream(cursor)]


def _records(pages: list[Page]) -> list[dict[str, Any]]:
    return [record for page in pages for record in page.records]


def test_simulated_source_streams_the_timeline_in_pages() -> None:
    source = _source(speed=0, start=START, until=UNTIL)

    pages = asyncio.run(_pages(source, None))

    expected = [event.record for event in timeline(HelpdeskModel(), START, UNTIL)]
    assert _records(pages) == expected
    assert len(pages) > 1
    assert pages[-1].cursor == {"start": START.isoformat(), "delivered": len(expected)}


def test_simulated_source_resumes_from_its_cursor_without_gaps_or_repeats() -> None:
    whole = asyncio.run(_pages(_source(speed=0, start=START, until=UNTIL), None))

    # A later start in the options must not move a run that already began.
    resumed = _source(speed=0, start=UNTIL - timedelta(hours=1), until=UNTIL)
    rest = asyncio.run(_pages(resumed, whole[0].cursor))

    assert _records(rest) == _records(whole[1:])


def test_simulated_source_never_runs_ahead_of_the_wall_clock() -> None:
    source = _source(speed=0, history="3h", per_hour=200)
    received: list[tuple[datetime, datetime]] = []

    async def collect() -> None:
        stream = source.stream(None)
        # Everything up to now arrives at once; then the stream waits for
        # events still in the future.
        while True:
            try:
                page = await asyncio.wait_for(anext(stream), 1.0)
            except TimeoutError:
                break
            assert page.newest is not None
            received.append((page.newest, datetime.now(UTC).replace(tzinfo=None)))
        await stream.aclose()

    asyncio.run(collect())

    assert len(received) >= 1
    assert all(newest <= now for newest, now in received)
    first = datetime.fromisoformat(_first_record_time(source))
    assert first >= received[0][1] - timedelta(hours=3, minutes=1)


def _first_record_time(source: SimulatedSource) -> str:
    async def first() -> str:
        stream = source.stream(None)
        page = await anext(stream)
        await stream.aclose()
        return str(page.records[0]["created_at"])

    return asyncio.run(first())


def test_simulated_source_normalizes_tickets_and_scores_customer_messages() -> None:
    source = _source(speed=0, start=START, until=START + timedelta(hours=12))
    page = asyncio.run(_pages(source, None))[0]

    batch = source.normalize(page)

    assert batch.tickets
    assert batch.messages
    assert {ticket.source for ticket in batch.tickets} == {"simulated"}
    customer = [m for m in batch.messages if m.author_role == "customer"]
    agent = [m for m in batch.messages if m.author_role == "agent"]
    assert all(message.sentiment is not None for message in customer)
    assert all(message.sentiment is None for message in agent)
    assert {ticket.priority for ticket in batch.tickets} <= {
        "urgent", "high", "normal", "low"
    }  # fmt: skip
