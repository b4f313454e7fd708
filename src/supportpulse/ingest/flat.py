"""Flat ticket exports: one row per ticket, columns found by their usual names."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from supportpulse.analytics.sentiment import sentiment
from supportpulse.errors import InputError, RecordError
from supportpulse.ingest.timestamps import parse_optional_timestamp, parse_timestamp
from supportpulse.model import Message, Ticket

#: Canonical field -> column names recognized without any mapping, in order of
#: preference. Names are compared lower-cased with spaces and dashes as "_".
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("ticket_id", "id", "ticket_number", "case_id", "ticket"),
    "created_at": ("created_at", "opened", "opened_at", "created", "creation_date"),
    "updated_at": ("updated_at", "modified_at", "last_updated", "updated"),
    "first_response_at": (
        "responded_at", "first_response_at", "first_reply_at", "first_responded_at",
    ),
    "resolved_at": ("resolved_at", "solved_at", "closed_at", "resolution_date"),
    "team": ("team", "group", "group_name", "queue"),
    "agent": ("agent", "assignee", "assigned_to", "owner"),
    "requester": ("requester", "customer", "customer_id", "requester_id"),
    "priority": ("priority", "severity"),
    "status": ("status", "state"),
    "channel": ("channel", "via", "source_channel"),
    "category": ("category", "type", "topic"),
    "tags": ("tags", "labels"),
    "body": ("customer_message", "description", "message", "body", "text"),
    "csat": ("csat", "satisfaction", "satisfaction_rating", "rating"),
}  # fmt: skip
REQUIRED = ("external_id", "created_at")
_RESOLVED_STATUSES = frozenset({"solved", "closed", "resolved"})
_SPACING = re.compile(r"[\s\-]+")
_JSON_KINDS = {dict: "an object", list: "a list", bool: "a boolean", float: "a number"}


def _normal(name: str) -> str:
    return _SPACING.sub("_", name.strip().lower())


@dataclass(frozen=True)
class FlatMapping:
    """Which column holds each canonical field."""

    columns: dict[str, str]

    @classmethod
    def detect(
        cls,
        path: Path | str,
        header: list[str],
        overrides: Mapping[str, str],
        synonyms: Mapping[str, tuple[str, ...]] = SYNONYMS,
        required: tuple[str, ...] = REQUIRED,
    ) -> FlatMapping:
        """Match the header against known names; explicit overrides win.

        `path` names the input in errors: a file, or a source. Tickets are
        matched by default; `synonyms` and `required` describe other records.
        """
        unknown = sorted(set(overrides) - set(synonyms))
        if unknown:
            known = ", ".join(sorted(synonyms))
            raise InputError(
                f"unknown field '{unknown[0]}' in column mapping; known: {known}"
            )

        by_normal = {_normal(name): name for name in header}
        columns: dict[str, str] = {}
        for field, names in synonyms.items():
            if field in overrides:
                if overrides[field] not in header:
                    raise InputError(
                        f"{path}: mapping {field}={overrides[field]} names no column; "
                        f"columns are: {', '.join(header)}"
                    )
                columns[field] = overrides[field]
                continue
            match = next((by_normal[name] for name in names if name in by_normal), None)
            if match is not None:
                columns[field] = match

        for field in required:
            if field not in columns:
                raise InputError(
                    f"{path}: no column for {field}; columns are: {', '.join(header)}; "
                    f"map one with --map {field}=COLUMN"
                )
        return cls(columns)


def _text(fields: Mapping[str, Any], column: str | None) -> str | None:
    if column is None:
        return None
    value = fields.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _identifier(fields: Mapping[str, Any], column: str | None, what: str) -> str:
    """An id as text; JSON objects, lists, booleans and floats are refused
    rather than stored as their Python spelling."""
    value = fields.get(column) if column is not None else None
    if isinstance(value, bool | float | Mapping | list | tuple | set):
        kind = _JSON_KINDS.get(type(value), f"a {type(value).__name__}")
        raise RecordError(
            f"{column} ({what}) is {kind}; ids must be strings or integers"
        )
    text = _text(fields, column)
    if text is None:
        raise RecordError(f"{column} ({what}) is empty")
    return text


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _csat(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        rating = float(value)
    except ValueError:
        raise RecordError(f"csat '{value[:20]}' is not a number") from None
    if not math.isfinite(rating):
        raise RecordError(f"csat '{value[:20]}' is not a finite number")
    return rating


def flat_records(
    fields: Mapping[str, Any], mapping: FlatMapping, source: str, zone: tzinfo
) -> tuple[Ticket, Message | None]:
    """One export row as a ticket and its customer message, if it has text."""
    column = mapping.columns.get

    external_id = _identifier(fields, column("external_id"), "ticket id")

    def when(field: str) -> Any:
        name = column(field)
        return parse_optional_timestamp(
            fields.get(name) if name else None, zone, name or field
        )

    created = parse_timestamp(
        fields.get(column("created_at") or ""),
        zone,
        column("created_at") or "created_at",
    )
    responded = when("first_response_at")
    resolved = when("resolved_at")
    for field, moment in (("first_response_at", responded), ("resolved_at", resolved)):
        if moment is not None and moment < created:
            raise RecordError(f"{column(field)} is before {column('created_at')}")
    updated = when("updated_at") or max(
        moment for moment in (created, responded, resolved) if moment is not None
    )
    status = _lower(_text(fields, column("status")))
    if resolved is None and status in _RESOLVED_STATUSES and column("updated_at"):
        resolved = updated

    tags_text = _text(fields, column("tags"))
    ticket = Ticket(
        source=source,
        external_id=external_id,
        created_at=created,
        updated_at=updated,
        status=status,
        priority=_lower(_text(fields, column("priority"))),
        channel=_lower(_text(fields, column("channel"))),
        team=_text(fields, column("team")),
        agent=_text(fields, column("agent")),
        requester=_text(fields, column("requester")),
        category=_text(fields, column("category")),
        tags=[tag.strip() for tag in tags_text.split(",") if tag.strip()]
        if tags_text
        else [],
        first_response_at=responded,
        resolved_at=resolved,
        csat=_csat(_text(fields, column("csat"))),
        raw=dict(fields),
    )

    body = _text(fields, column("body"))
    if body is None:
        return ticket, None
    message = Message(
        source=source,
        external_id=f"{external_id}:customer",
        ticket_external_id=external_id,
        created_at=created,
        updated_at=updated,
        author_role="customer",
        author_id=ticket.requester,
        body=body,
        sentiment=sentiment(body),
    )
    return ticket, message
