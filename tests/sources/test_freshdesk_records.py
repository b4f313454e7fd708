"""Freshdesk records mapped without I/O: real fixture pages, and deletions
that commute with older updates."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from supportpulse.model import Batch
from supportpulse.sources.freshdesk_records import normalize
from supportpulse.store import Store


def _record(ticket: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"ticket": ticket, "conversations": [], "ratings": [], "team": None,
            "agent": None, **more}  # fmt: skip


@pytest.mark.shared_data
def test_freshdesk_normalize_maps_the_published_list_page(shared_data: Path) -> None:
    folder = shared_data / "vendor" / "freshdesk"
    (ticket,) = json.loads((folder / "tickets_page.json").read_text())
    conversations = json.loads((folder / "conversations.json").read_text())

    batch = normalize("fd", [_record(ticket, conversations=conversations)])

    (mapped,) = batch.tickets
    assert (mapped.external_id, mapped.status, mapped.priority, mapped.channel) == (
        "21", "closed", "low", "outbound_email",
    )  # fmt: skip
    assert mapped.requester == "67042965499"
    assert mapped.resolved_at == datetime(2022, 11, 16, 15, 59, 28)
    assert mapped.first_response_at is None
    roles = [(m.external_id, m.author_role) for m in batch.messages]
    assert roles == [("21-description", "customer"), ("1", "system"), ("2", "agent")]
    assert "description" not in mapped.raw


@pytest.mark.shared_data
def test_freshdesk_normalize_maps_the_published_single_ticket(
    shared_data: Path,
) -> None:
    ticket = json.loads(
        (shared_data / "vendor" / "freshdesk" / "ticket_1.json").read_text()
    )

    (mapped,) = normalize("fd", [_record(ticket)]).tickets

    assert mapped.status == "open"
    assert mapped.resolved_at is None  # stats remember a resolution, but it is open
    assert mapped.first_response_at == datetime(2020, 6, 17, 20, 23, 43)
    assert mapped.tags == ["bar", "foo"]
    assert mapped.category == "Question"


def test_freshdesk_delete_and_an_older_update_in_one_batch_end_deleted(
    store: Store,
) -> None:
    live = {"id": 5, "status": 2, "priority": 1, "source": 1, "requester_id": 9,
            "created_at": "2024-05-01T09:00:00Z", "updated_at": "2024-05-01T10:00:00Z"}  # fmt: skip
    gone = {**live, "deleted": True, "updated_at": "2024-05-01T11:00:00Z"}

    for order in ([live, gone], [gone, live]):
        batch = normalize("fd", [_record(ticket) for ticket in order])
        store.write(Batch(tickets=batch.tickets))
        _, rows = store.fetch("SELECT status FROM tickets WHERE external_id = '5'")
        assert rows == [("deleted",)]
