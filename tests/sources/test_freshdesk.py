"""The Freshdesk source against the fake: paging past the cap, errors, options."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from supportpulse.config import Settings
from supportpulse.errors import FatalSourceError
from supportpulse.fakes import serving
from supportpulse.fakes.freshdesk import FreshdeskApp, FreshdeskLimits
from supportpulse.fakes.freshdesk_desk import FreshdeskDesk
from supportpulse.sources.freshdesk import FreshdeskOptions, FreshdeskSource
from supportpulse.sources.freshdesk_records import Anchor, epoch, step

KEY = "source-key"


def _source(url: str, key: str = KEY, **options: Any) -> FreshdeskSource:
    return FreshdeskSource(
        "fd", FreshdeskOptions(base_url=url, api_key=key, **options), Settings()
    )


async def _drain(source: FreshdeskSource) -> list[dict[str, Any]]:
    """Pull until both listings are caught up; every delivered record."""
    delivered: list[dict[str, Any]] = []
    cursor = None
    try:
        while True:
            page = await source.pull(cursor)
            delivered.extend(page.records)
            cursor = page.cursor
            if not page.more:
                return delivered
    finally:
        await source.close()


def test_freshdesk_source_reanchors_past_the_page_cap_without_loss_or_doubles() -> None:
    desk = FreshdeskDesk(seed=4)
    desk.populate(200)
    app = FreshdeskApp(desk, KEY, FreshdeskLimits(credits_per_window=10**6, page_cap=3))
    with serving(app.app) as served:
        source = _source(
            served.url, per_page=10, pages_per_anchor=300, account_rate_per_min=60000
        )
        delivered = asyncio.run(_drain(source))

    ids = [record["ticket"]["id"] for record in delivered]
    assert sorted(set(ids)) == sorted(desk.tickets)
    # Only the seam repeats: one ticket per re-anchoring at most.
    assert len(ids) - len(set(ids)) <= len(desk.tickets) // 30 + 1


def test_freshdesk_source_stops_on_a_wrong_key_naming_the_setting() -> None:
    desk = FreshdeskDesk(seed=4)
    desk.populate(3)
    app = FreshdeskApp(desk, KEY)
    with serving(app.app) as served:
        source = _source(served.url, key="canary-wrong-key")
        with pytest.raises(FatalSourceError) as failure:
            asyncio.run(_drain(source))

    assert "401" in str(failure.value)
    assert "FRESHDESK_API_KEY" in str(failure.value)
    assert "canary-wrong-key" not in str(failure.value)


def test_freshdesk_options_refuse_per_page_over_100() -> None:
    with pytest.raises(ValidationError, match="per_page"):
        FreshdeskOptions(base_url="http://127.0.0.1:1", api_key=KEY, per_page=101)


def _row(ticket_id: int, updated: str) -> dict[str, Any]:
    return {"id": ticket_id, "updated_at": updated}


def test_freshdesk_step_skips_the_seam_only_once_its_second_is_over() -> None:
    second = "2024-05-01T10:00:00Z"
    rows = [_row(1, "2024-05-01T09:59:59Z"), _row(2, second), _row(3, second)]

    unsettled = step(Anchor(0), rows, False, server_now=epoch(second))
    settled = step(Anchor(0), rows, False, server_now=epoch(second) + 5)
    again = step(settled.anchor, rows[1:], False, server_now=epoch(second) + 6)

    assert unsettled.anchor == Anchor(epoch(second))
    assert settled.anchor == Anchor(epoch(second), seen=(2, 3))
    assert again.fresh == []
    assert again.skipped == 2


def test_freshdesk_step_pages_on_through_one_crowded_second() -> None:
    second = "2024-05-01T10:00:00Z"
    anchor = Anchor(epoch(second))
    rows = [_row(n, second) for n in range(5)]

    crowded = step(anchor, rows, True, server_now=None)

    assert crowded.anchor.page == 2
    assert crowded.anchor.since == anchor.since
    assert crowded.more
