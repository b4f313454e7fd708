"""Both store engines: migrations, batch upserts, quarantine, JSON round trips.

Every test runs on a DuckDB file and on a throwaway PostgreSQL database.
"""

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportpulse.model import Batch, Message, QuarantinedRecord, Ticket
from supportpulse.store import Store, open_store, parse_store_url
from supportpulse.store.migrations import load_migrations

CREATED = datetime(2024, 1, 1, 9, 0)


def ticket(external_id: str, minutes: int = 0, **fields: Any) -> Ticket:
    """A ticket updated `minutes` after its creation."""
    fields.setdefault("source", "test")
    updated = CREATED + timedelta(minutes=minutes)
    return Ticket(
        external_id=external_id, created_at=CREATED, updated_at=updated, **fields
    )


def stored(store: Store, source: str = "test") -> dict[str, dict[str, Any]]:
    """Every stored ticket of one source, by external id."""
    names, rows = store.fetch(
        "SELECT * FROM tickets WHERE source = :source", {"source": source}
    )
    return {row[1]: dict(zip(names, row, strict=True)) for row in rows}


def test_migrate_applies_each_migration_once_and_records_it(store_url: str) -> None:
    url = parse_store_url(store_url)
    shipped = load_migrations(url.engine)
    expected = [(m.version, m.name) for m in shipped]

    with open_store(url, migrate=False) as store:
        assert store.migrate() == [m.version for m in shipped]
        assert store.migrate() == []

    with open_store(url) as reopened:
        assert reopened.migrate() == []
        _, rows = reopened.fetch(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        )
    assert rows == expected


def test_write_same_batch_twice_leaves_the_same_rows(store: Store) -> None:
    batch = Batch(
        tickets=[ticket("1", 5, status="open"), ticket("2", 9, agent="ann")],
        messages=[
            Message("test", "1:c", "1", CREATED, CREATED, "customer", body="help")
        ],
    )

    store.write(batch)
    first = stored(store), store.fetch("SELECT * FROM messages")
    store.write(batch)

    assert (stored(store), store.fetch("SELECT * FROM messages")) == first
    assert (store.count("tickets"), store.count("messages")) == (2, 1)


def test_write_newer_updated_at_replaces_the_stored_ticket(store: Store) -> None:
    store.write(Batch(tickets=[ticket("1", 5, status="open")]))
    store.write(Batch(tickets=[ticket("1", 10, status="solved")]))

    row = stored(store)["1"]
    assert (row["status"], row["updated_at"]) == (
        "solved",
        CREATED + timedelta(minutes=10),
    )


def test_write_older_updated_at_never_overwrites(store: Store) -> None:
    store.write(Batch(tickets=[ticket("1", 10, status="solved")]))
    store.write(Batch(tickets=[ticket("1", 5, status="open")]))

    assert stored(store)["1"]["status"] == "solved"


def test_write_equal_updated_at_replaces_the_stored_ticket(store: Store) -> None:
    # A corrected re-normalization of the same record must land.
    store.write(Batch(tickets=[ticket("1", 5, team="wrong")]))
    store.write(Batch(tickets=[ticket("1", 5, team="right")]))

    assert stored(store)["1"]["team"] == "right"


@pytest.mark.parametrize("newest_first", [True, False])
def test_write_keeps_the_newest_duplicate_within_one_batch(
    store: Store, newest_first: bool
) -> None:
    versions = [ticket("1", 10, status="solved"), ticket("1", 5, status="open")]
    if not newest_first:
        versions.reverse()

    store.write(Batch(tickets=versions))

    assert stored(store)["1"]["status"] == "solved"
    assert store.count("tickets") == 1


def test_write_upserts_messages_by_newest_updated_at(store: Store) -> None:
    def message(minutes: int, body: str) -> Message:
        updated = CREATED + timedelta(minutes=minutes)
        return Message("test", "m1", "1", CREATED, updated, "agent", body=body)

    store.write(Batch(messages=[message(5, "draft"), message(9, "final")]))
    store.write(Batch(messages=[message(7, "stale")]))

    _, rows = store.fetch("SELECT external_id, body FROM messages")
    assert rows == [("m1", "final")]


def test_write_deleted_ticket_takes_its_messages_along(store: Store) -> None:
    message = Message("test", "m1", "1", CREATED, CREATED, "customer")
    other = Message("test", "m2", "2", CREATED, CREATED, "customer")
    store.write(Batch(tickets=[ticket("1"), ticket("2")], messages=[message, other]))

    store.write(Batch(deleted_tickets=[("test", "1")]))

    assert list(stored(store)) == ["2"]
    _, rows = store.fetch("SELECT external_id FROM messages")
    assert rows == [("m2",)]


def test_write_appends_quarantined_records(store: Store) -> None:
    bad = QuarantinedRecord("test", "in.csv", 3, "ticket_id is empty", ",x,y")

    store.write(Batch(quarantined=[bad]))
    store.write(Batch(quarantined=[bad, replace(bad, line=7, record=None)]))

    _, rows = store.fetch("SELECT source, file, line, reason, record FROM quarantine")
    assert sorted(rows, key=lambda row: row[2]) == [
        ("test", "in.csv", 3, "ticket_id is empty", ",x,y"),
        ("test", "in.csv", 3, "ticket_id is empty", ",x,y"),
        ("test", "in.csv", 7, "ticket_id is empty", None),
    ]


def test_write_round_trips_tags_raw_json_and_optional_fields(store: Store) -> None:
    raw = {
        "text": 'café ☕ "quoted" \\ back\nslash',
        "nested": {"list": [1, 2.5, None, True], "empty": {}},
    }
    responded = datetime(2024, 1, 1, 9, 15, 30, 123456)
    full = ticket(
        "1",
        tags=["billing", "état", "has, comma", 'has "quote"'],
        raw=raw,
        first_response_at=responded,
        csat=4.5,
    )

    store.write(Batch(tickets=[full, ticket("2")]))

    rows = stored(store)
    assert rows["1"]["tags"] == full.tags
    assert _json(rows["1"]["raw"]) == raw
    assert (rows["1"]["first_response_at"], rows["1"]["csat"]) == (responded, 4.5)
    assert rows["2"]["tags"] == []
    assert _json(rows["2"]["raw"]) == {}
    assert rows["2"]["resolved_at"] is None


def _json(value: Any) -> Any:
    # DuckDB returns JSON columns as text; psycopg decodes JSONB itself.
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture(
    scope="module",
    params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def shared_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """One store per engine for a whole property test; examples use own sources."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")()
    else:
        url = f"duckdb://{tmp_path_factory.mktemp('store')}/store.duckdb"
    with open_store(parse_store_url(url)) as opened:
        yield opened


@st.composite
def shuffled_versions(draw: st.DrawFn) -> tuple[dict[str, int], list[list[Ticket]]]:
    """Versions of a few tickets, each written 1-3 times, shuffled into batches.

    Returns the newest version (minutes) per ticket and the batches to write.
    """
    versions = draw(
        st.lists(
            st.tuples(st.sampled_from("abc"), st.integers(0, 60)),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    copies = [v for v in versions for _ in range(draw(st.integers(1, 3)))]
    order = draw(st.permutations(copies))
    cuts = draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=3))
    bounds = [0, *sorted(cuts), len(order)]
    batches = [
        [ticket(name, minutes, status=f"v{minutes}") for name, minutes in order[a:b]]
        for a, b in itertools.pairwise(bounds)
    ]

    newest: dict[str, int] = {}
    for name, minutes in versions:
        newest[name] = max(minutes, newest.get(name, minutes))
    return newest, batches


@settings(max_examples=30, deadline=None)
@given(case=shuffled_versions())
def test_write_any_order_of_versions_ends_with_the_newest(
    shared_store: Store, case: tuple[dict[str, int], list[list[Ticket]]]
) -> None:
    newest, batches = case
    source = f"prop-{uuid.uuid4().hex}"

    for batch in batches:
        shared_store.write(Batch(tickets=[replace(t, source=source) for t in batch]))

    rows = stored(shared_store, source)
    assert {name: row["status"] for name, row in rows.items()} == {
        name: f"v{minutes}" for name, minutes in newest.items()
    }
    assert all(
        row["updated_at"] == CREATED + timedelta(minutes=newest[name])
        for name, row in rows.items()
    )
