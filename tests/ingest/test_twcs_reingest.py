"""Reading a changed twcs export again gives the store a fresh reading gives."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings
from supportpulse.ingest.pipeline import IngestOptions, ingest_file
from supportpulse.store import Store, open_store, parse_store_url

HEADER = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,"
    "in_response_to_tweet_id\n"
)
SEPARATE = HEADER + (
    "1,111,True,Tue Oct 31 10:00:00 +0000 2017,my order is late,2,\n"
    "2,Brand,False,Tue Oct 31 10:05:00 +0000 2017,sorry,,1\n"
    "3,222,True,Tue Oct 31 10:20:00 +0000 2017,me too,4,\n"
    "4,Brand,False,Tue Oct 31 10:30:00 +0000 2017,looking,,3\n"
)
# Tweet 3 now answers tweet 2: the two conversations are one.
MERGED = HEADER + (
    "1,111,True,Tue Oct 31 10:00:00 +0000 2017,my order is late,2,\n"
    "2,Brand,False,Tue Oct 31 10:05:00 +0000 2017,sorry,3,1\n"
    "3,222,True,Tue Oct 31 10:20:00 +0000 2017,me too,4,2\n"
    "4,Brand,False,Tue Oct 31 10:30:00 +0000 2017,looking,,3\n"
)


def _state(store: Store) -> tuple[Any, ...]:
    _, tickets = store.fetch("SELECT external_id FROM tickets ORDER BY external_id")
    kpis = compute_kpis(store, KPIQuery(until=datetime(2018, 1, 1)), Settings().sla)
    return tickets, kpis["groups"]


def _ingest(store: Store, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    ingest_file(path, store, Settings(), IngestOptions())


def test_twcs_reingest_of_merged_conversations_leaves_no_empty_ticket(
    store: Store, tmp_path: Path
) -> None:
    export = tmp_path / "tweets.csv"
    _ingest(store, export, SEPARATE)
    _ingest(store, export, MERGED)

    with open_store(parse_store_url(f"duckdb://{tmp_path}/fresh.duckdb")) as fresh:
        _ingest(fresh, export, MERGED)
        expected = _state(fresh)

    assert _state(store) == expected
    assert expected[0] == [("1",)]


def test_twcs_reingest_keeps_message_less_tickets_of_another_layout(
    store: Store, tmp_path: Path
) -> None:
    # A flat export of tickets alone, stored under the name the tweets use.
    flat = tmp_path / "desk.csv"
    flat.write_text("ticket_id,created_at\nD1,2017-10-31 09:00:00\n", encoding="utf-8")
    ingest_file(flat, store, Settings(), IngestOptions(source="twcs"))
    export = tmp_path / "tweets.csv"
    _ingest(store, export, SEPARATE)
    _ingest(store, export, MERGED)

    tickets, _ = _state(store)
    assert tickets == [("1",), ("D1",)]
