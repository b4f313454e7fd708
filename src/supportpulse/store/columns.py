"""Canonical records laid out as Arrow tables, the shape both engines load fastest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pyarrow as pa

from supportpulse.model import Message, QuarantinedRecord, Ticket

Keyed = TypeVar("Keyed", Ticket, Message)

_TIME = pa.timestamp("us")
_TEXT = pa.string()

TICKET_SCHEMA = pa.schema([
    ("source", _TEXT), ("external_id", _TEXT), ("created_at", _TIME),
    ("updated_at", _TIME), ("status", _TEXT), ("priority", _TEXT),
    ("channel", _TEXT), ("team", _TEXT), ("agent", _TEXT), ("requester", _TEXT),
    ("category", _TEXT), ("tags", pa.list_(_TEXT)), ("first_response_at", _TIME),
    ("resolved_at", _TIME), ("csat", pa.float64()), ("raw", _TEXT),
])  # fmt: skip
MESSAGE_SCHEMA = pa.schema([
    ("source", _TEXT), ("external_id", _TEXT), ("ticket_external_id", _TEXT),
    ("created_at", _TIME), ("updated_at", _TIME), ("author_role", _TEXT),
    ("author_id", _TEXT), ("reply_to", _TEXT), ("body", _TEXT),
    ("sentiment", pa.float64()), ("raw", _TEXT),
])  # fmt: skip
QUARANTINE_SCHEMA = pa.schema([
    ("source", _TEXT), ("file", _TEXT), ("line", pa.int64()), ("reason", _TEXT),
    ("record", _TEXT), ("recorded_at", _TIME),
])  # fmt: skip


def raw_json(value: dict[str, Any]) -> str:
    """A raw source record as compact JSON text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _table(records: Sequence[Any], schema: pa.Schema) -> pa.Table:
    columns = {
        name: [getattr(record, name) for record in records] for name in schema.names
    }
    if "raw" in columns:
        columns["raw"] = [raw_json(value) for value in columns["raw"]]
    return pa.table(columns, schema=schema)


def newest_per_key(records: Sequence[Keyed]) -> list[Keyed]:
    """One record per (source, external_id): the newest, and among equally new
    ones the last given, so the outcome never depends on engine internals."""
    chosen: dict[tuple[str, str], Keyed] = {}
    for record in records:
        key = (record.source, record.external_id)
        held = chosen.get(key)
        if held is None or record.updated_at >= held.updated_at:
            chosen[key] = record
    return list(chosen.values())


def ticket_table(tickets: Sequence[Ticket]) -> pa.Table:
    """Tickets as an Arrow table in store column order, one per key."""
    return _table(newest_per_key(tickets), TICKET_SCHEMA)


def message_table(messages: Sequence[Message]) -> pa.Table:
    """Messages as an Arrow table in store column order, one per key."""
    return _table(newest_per_key(messages), MESSAGE_SCHEMA)


def quarantine_table(records: Sequence[QuarantinedRecord]) -> pa.Table:
    """Quarantined records, stamped with the time they were kept."""
    now = datetime.now(UTC).replace(tzinfo=None)
    columns = {
        name: [getattr(record, name) for record in records]
        for name in QUARANTINE_SCHEMA.names
        if name != "recorded_at"
    }
    columns["recorded_at"] = [now] * len(records)
    return pa.table(columns, schema=QUARANTINE_SCHEMA)
