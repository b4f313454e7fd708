"""Processes refreshing reply facts in one PostgreSQL store while others write.

Each test forces the interleaving it is about: a gate connection holds a lock
the refresh needs until the other parties are where the race would be.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import psycopg
import pytest

from supportpulse.analytics.reply_facts import refresh_reply_facts
from supportpulse.model import Batch, Message, Ticket
from supportpulse.store import Store, open_store, parse_store_url
from supportpulse.store.postgres import EXCLUSIVE_LOCK

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

START = datetime(2024, 3, 1, 8)


def _thread(key: str, answered_after_s: int) -> Batch:
    return Batch(
        tickets=[Ticket("desk", key, START, START)],
        messages=[
            Message("desk", f"{key}-ask", key, START, START, "customer"),
            Message("desk", f"{key}-answer", key,
                    START + timedelta(seconds=answered_after_s), START, "agent"),
        ],
    )  # fmt: skip


def _waits(store: Store) -> list[tuple[object, ...]]:
    _, rows = store.fetch(
        "SELECT ticket_external_id, message_external_id, replied_by FROM reply_waits"
    )
    return sorted(rows, key=repr)


def _lock_waiters(url: str, expected: int) -> None:
    with psycopg.connect(url, autocommit=True) as watch:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = watch.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row and row[0] >= expected:
                return
            time.sleep(0.05)
    pytest.fail(f"fewer than {expected} connections came to wait on the gate")


@contextmanager
def _refreshing(url: str, count: int) -> Iterator[list[BaseException]]:
    """`count` refreshes, each in its own thread and connection, joined at exit."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with open_store(parse_store_url(url)) as store:
                refresh_reply_facts(store)
        except BaseException as exc:  # reported to the test, which fails on it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    yield errors
    for thread in threads:
        thread.join(60)


def test_refreshes_released_together_derive_each_wait_once(
    pg_database: Callable[[], str],
) -> None:
    url = pg_database()
    with open_store(parse_store_url(url)) as writer:
        for number in range(20):
            writer.write(_thread(f"t{number}", 60))

        with psycopg.connect(url, autocommit=True) as gate:
            gate.execute("SELECT pg_advisory_lock(%s)", (EXCLUSIVE_LOCK,))
            with _refreshing(url, 3) as errors:
                _lock_waiters(url, 3)
                gate.execute("SELECT pg_advisory_unlock(%s)", (EXCLUSIVE_LOCK,))

        assert errors == []
        waits = _waits(writer)
        assert len(waits) == 20
        assert len(set(waits)) == 20


def test_a_write_during_a_refresh_is_derived_by_the_next(
    pg_database: Callable[[], str],
) -> None:
    url = pg_database()
    with open_store(parse_store_url(url)) as writer:
        writer.write(_thread("early", 60))

        # The refresh has read what is stale and waits to replace the facts;
        # meanwhile a write lands and marks its own ticket stale.
        with psycopg.connect(url) as gate:
            gate.execute("LOCK TABLE reply_waits IN EXCLUSIVE MODE")
            with _refreshing(url, 1) as errors:
                _lock_waiters(url, 1)
                writer.write(_thread("late", 30))
                gate.commit()

        assert errors == []
        assert [wait[0] for wait in _waits(writer)] == ["early"]
        _, stale = writer.fetch("SELECT ticket_external_id FROM kpi_stale")
        assert stale == [("late",)]

        refresh_reply_facts(writer)
        assert [wait[0] for wait in _waits(writer)] == ["early", "late"]
