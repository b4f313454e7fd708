"""Export pages as Zendesk may deliver them (versions of tickets that change,
are deleted and restored, repeated at page starts, in any order inside a
page) end in the store as the newest version of every ticket."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportpulse.sources.zendesk_mapping import join_page, to_batch
from supportpulse.store import Store, open_store, parse_store_url

START = 1_714_000_000


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for the whole property test; examples use their own sources."""
    folder: Path = tmp_path_factory.mktemp("pages")
    with open_store(parse_store_url(f"duckdb://{folder}/store.duckdb")) as opened:
        yield opened


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def exports(
    draw: st.DrawFn,
) -> tuple[dict[int, dict[str, Any]], list[list[dict[str, Any]]]]:
    """The newest version per ticket, and export pages with repeats and shuffles."""
    changes = draw(st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from(["open", "solved", "deleted", "system"])),
        min_size=1, max_size=40,
    ))  # fmt: skip
    versions: dict[int, dict[str, Any]] = {}
    export = []
    for step, (ticket_id, change) in enumerate(changes):
        previous = versions.get(ticket_id)
        record = dict(previous) if previous else {
            "id": ticket_id, "created_at": _iso(START), "status": "new",
            "updated_at": _iso(START),
        }  # fmt: skip
        # Several tickets change within one second; one ticket's versions
        # never share a second (Zendesk's export hides the last minute).
        stamp = START + 10 + step // 3
        if previous:
            stamp = max(stamp, previous["generated_timestamp"] + 1)
        record["generated_timestamp"] = stamp
        if change != "system":
            record["status"] = change
            record["updated_at"] = _iso(record["generated_timestamp"])
        versions[ticket_id] = record
        export.append(record)

    # The export orders by (generated_timestamp, id) and shows each ticket
    # once, at its latest version.
    export.sort(key=lambda r: (r["generated_timestamp"], r["id"]))
    latest = {record["id"]: position for position, record in enumerate(export)}
    ordered = [r for position, r in enumerate(export) if latest[r["id"]] == position]
    if draw(st.booleans()):
        ordered = export  # a client that read while tickets changed saw them all
    size = draw(st.integers(1, 5))
    rng = random.Random(draw(st.integers(0, 1000)))
    pages = []
    for start in range(0, len(ordered), size):
        page = list(ordered[start : start + size])
        if start and rng.random() < 0.5:
            page.insert(0, ordered[start - 1])  # the record the page starts after
        rng.shuffle(page)
        pages.append(page)
    return versions, pages


@settings(max_examples=40, deadline=None)
@given(case=exports())
def test_zendesk_pages_end_with_the_newest_version_of_each_ticket(
    shared_store: Store,
    case: tuple[dict[int, dict[str, Any]], list[list[dict[str, Any]]]],
) -> None:
    newest, pages = case
    source = f"zd-{uuid.uuid4().hex}"

    for page in pages:
        shared_store.write(to_batch(join_page({"tickets": page}), source, None))

    _, rows = shared_store.fetch(
        "SELECT external_id, status FROM tickets WHERE source = :source",
        {"source": source},
    )
    assert dict(rows) == {
        str(ticket_id): record["status"]
        for ticket_id, record in newest.items()
        if record["status"] != "deleted"
    }
