"""The Zendesk mapping on records captured from real accounts (shared data)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from supportpulse.sources.zendesk_mapping import join_page, to_batch

pytestmark = pytest.mark.shared_data


def _load(shared_data: Path, name: str) -> Any:
    return json.loads((shared_data / "vendor" / "zendesk" / name).read_text())


def _records(shared_data: Path, stream: str) -> list[dict[str, Any]]:
    found = []
    lines = (shared_data / "vendor" / "zendesk" / "expected_records.jsonl").read_text()
    for line in lines.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the file keeps one malformed line on purpose
        if record["stream"] == stream:
            found.append(record["data"])
    return found


def test_zendesk_mapping_reads_a_real_export_page(shared_data: Path) -> None:
    page = _load(shared_data, "tickets_page.json")
    page["groups"] = [{"id": 98738, "name": "Printers"}]
    page["users"] = [{"id": 235323, "name": "Agent Smith", "role": "agent"}]

    batch = to_batch(join_page(page), "zd", category_field=27648)

    [ticket] = batch.tickets
    assert ticket.external_id == "35436"
    assert ticket.created_at == datetime(2009, 7, 20, 22, 55, 29)
    # generated_timestamp (2024) is newer than updated_at (2011): it wins.
    assert ticket.updated_at == datetime(2024, 8, 14, 18, 41, 37)
    assert (ticket.status, ticket.priority, ticket.channel) == ("open", "high", "web")
    assert (ticket.team, ticket.agent, ticket.requester) == (
        "Printers", "Agent Smith", "20978392",
    )  # fmt: skip
    assert ticket.category == "yes"
    assert ticket.tags == ["enterprise", "other_tag"]
    assert ticket.csat == 1.0
    assert ticket.first_response_at is None
    assert ticket.resolved_at is None


def test_zendesk_mapping_takes_first_reply_and_solve_from_metrics(
    shared_data: Path,
) -> None:
    metric = next(m for m in _records(shared_data, "ticket_metrics") if m["replies"])
    metric = {**metric, "solved_at": "2024-08-19T16:19:27Z"}
    ticket = {"id": metric["ticket_id"], "status": "solved",
              "created_at": metric["created_at"], "updated_at": metric["updated_at"]}  # fmt: skip
    reopened = {**ticket, "status": "open"}

    [solved] = to_batch(
        join_page({"tickets": [ticket], "metric_sets": [metric]}), "zd", None
    ).tickets
    [open_again] = to_batch(
        join_page({"tickets": [reopened], "metric_sets": [metric]}), "zd", None
    ).tickets

    created = datetime.fromisoformat(metric["created_at"].replace("Z", ""))
    minutes = metric["reply_time_in_minutes"]["calendar"]
    assert solved.first_response_at == created + timedelta(minutes=minutes)
    assert solved.resolved_at == datetime(2024, 8, 19, 16, 19, 27)
    assert open_again.resolved_at is None


def test_zendesk_mapping_comments_roles_and_private_notes(shared_data: Path) -> None:
    comments = _records(shared_data, "ticket_comments")
    agent_id = comments[0]["author_id"]
    note = {**comments[1], "public": False, "id": 1}
    page = {"tickets": [{"id": 1, "created_at": "2021-06-24T08:00:00Z",
                         "updated_at": "2021-07-17T21:22:47Z", "status": "open"}]}  # fmt: skip
    authors = {agent_id: {"id": agent_id, "name": "A", "role": "end-user"}}

    batch = to_batch(join_page(page, {1: [comments[0], note]}, authors), "zd", None)

    first, private = batch.messages
    assert (first.author_role, first.body, first.ticket_external_id) == (
        "customer", "thank you !", "1",
    )  # fmt: skip
    assert first.sentiment is not None
    assert private.author_role == "system"
    assert private.sentiment is None


def test_zendesk_mapping_deleted_ticket_becomes_a_deletion() -> None:
    page = {"tickets": [{"id": 7, "status": "deleted"}]}

    batch = to_batch(join_page(page), "zd", None)

    assert batch.tickets == []
    assert batch.deleted_tickets == [("zd", "7")]


def test_zendesk_mapping_keeps_the_newest_version_within_a_page() -> None:
    old = {
        "id": 9,
        "status": "open",
        "generated_timestamp": 100,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }
    gone = {**old, "status": "deleted", "generated_timestamp": 160}

    batch = to_batch(join_page({"tickets": [gone, old]}), "zd", None)

    assert batch.tickets == []
    assert batch.deleted_tickets == [("zd", "9")]


def test_zendesk_mapping_quarantines_a_ticket_without_times() -> None:
    page = {"tickets": [{"id": 8, "status": "open", "created_at": "yesterday"}]}

    batch = to_batch(join_page(page), "zd", None)

    [bad] = batch.quarantined
    assert "created_at 'yesterday'" in bad.reason
    assert bad.line == 0
