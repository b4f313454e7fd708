"""Intercom conversations mapped without I/O, from published records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from supportpulse.sources.intercom_records import normalize


@pytest.mark.shared_data
def test_intercom_normalize_maps_published_conversations_and_parts(
    shared_data: Path,
) -> None:
    lines = (shared_data / "vendor" / "intercom" / "expected_records.jsonl").read_text()
    records = [json.loads(line) for line in lines.splitlines() if line.strip()]
    conversation = next(
        r["data"]
        for r in records
        if r["stream"] == "conversations" and r["data"]["id"] == "1"
    )
    parts = [
        r["data"] for r in records
        if r["stream"] == "conversation_parts" and r["data"]["conversation_id"] == 1
    ]  # fmt: skip
    whole = {**conversation, "conversation_parts": {"conversation_parts": parts}}

    batch = normalize(
        "ic", [{"conversation": whole, "team": None, "agent": None}], None
    )

    (ticket,) = batch.tickets
    assert ticket.status == "open"
    assert ticket.priority == "normal"
    assert ticket.channel == "conversation"
    assert ticket.requester == "5fd150d50697b6d0bbc4a2c2"
    assert ticket.first_response_at == datetime(2021, 7, 7, 10, 35, 31)
    assert ticket.resolved_at is None
    opening = batch.messages[0]
    assert (opening.external_id, opening.author_role, opening.body) == (
        "1-source", "customer", "hey there",
    )  # fmt: skip
    roles = {m.author_role for m in batch.messages[1:]}
    assert roles == {"customer", "bot"}  # a user and the Operator bot replied
    assert len(batch.messages) == 1 + sum(
        part["part_type"] in ("comment", "note") for part in parts
    )
