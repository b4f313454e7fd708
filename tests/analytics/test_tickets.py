"""Ticket listing: the cursor round-trips and paging never repeats or skips."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpulse.analytics.tickets import (
    TicketQuery,
    decode_cursor,
    encode_cursor,
    list_tickets,
)
from supportpulse.errors import UserError
from supportpulse.model import Batch, Ticket
from supportpulse.store import Store

moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))


@given(created=moments, source=st.text(max_size=40), external_id=st.text(max_size=40))
def test_cursor_round_trips_any_key(
    created: datetime, source: str, external_id: str
) -> None:
    row = {"created_at": created, "source": source, "external_id": external_id}

    assert decode_cursor(encode_cursor(row)) == (created, source, external_id)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", "WzFd"])
def test_cursor_rejects_what_it_did_not_make(cursor: str) -> None:
    with pytest.raises(UserError, match="'cursor'"):
        decode_cursor(cursor)


# One store for every example: each starts by emptying the tickets table.
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    offsets=st.lists(st.integers(0, 5), min_size=0, max_size=30),
    limit=st.integers(1, 7),
)
def test_list_tickets_pages_cover_each_ticket_once_newest_first(
    duckdb_store: Store, offsets: list[int], limit: int
) -> None:
    # Few distinct times, so many tickets tie on created_at and only the
    # (source, external_id) tie-break keeps the order total.
    duckdb_store.execute("DELETE FROM tickets")
    start = datetime(2024, 1, 1)
    tickets = [
        Ticket(f"s{i % 2}", f"t{i}", start + timedelta(hours=h), start)
        for i, h in enumerate(offsets)
    ]
    duckdb_store.write(Batch(tickets=tickets))

    seen: list[tuple[datetime, str, str]] = []
    cursor = None
    while True:
        rows, cursor = list_tickets(
            duckdb_store, TicketQuery(limit=limit, cursor=cursor)
        )
        seen.extend((r["created_at"], r["source"], r["external_id"]) for r in rows)
        if cursor is None:
            break

    expected = sorted((t.created_at, t.source, t.external_id) for t in tickets)
    assert seen == expected[::-1]
