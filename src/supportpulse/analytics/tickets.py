"""Listing tickets newest first, page by page, with an opaque keyset cursor.

The order is (created_at, source, external_id) descending: a total order, so
a ticket written between two pages never repeats or hides another one. The
cursor is the last row's key, base64url-encoded JSON; it is a position,
not a promise of content.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportpulse.analytics.sql import DIMENSIONS
from supportpulse.errors import UserError
from supportpulse.store import Store

COLUMNS = (
    "source", "external_id", "created_at", "updated_at", "status", "priority",
    "channel", "team", "agent", "category", "tags", "first_response_at",
    "resolved_at", "csat",
)  # fmt: skip
#: Fields a listing may filter on by equality.
FILTERS = (*DIMENSIONS, "status")


@dataclass(frozen=True)
class TicketQuery:
    """Which tickets, from where, how many."""

    filters: tuple[tuple[str, str], ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None


def encode_cursor(row: dict[str, Any]) -> str:
    """The cursor that continues after `row`."""
    key = [row["created_at"].isoformat(), row["source"], row["external_id"]]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str, str]:
    """The key a cursor points after; UserError when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, source, external_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created), str(source), str(external_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise UserError(
            "query key 'cursor': not a cursor from this API; pass next_cursor "
            "as it was returned"
        ) from None


def list_tickets(
    store: Store, query: TicketQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of tickets and the cursor of the next page (None at the end)."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": query.limit + 1}
    for name, value in query.filters:
        if name not in FILTERS:
            raise ValueError(f"unknown ticket filter {name}")
        clauses.append(f"{name} = :f_{name}")
        params[f"f_{name}"] = value
    if query.since is not None:
        clauses.append("created_at >= :since")
        params["since"] = query.since
    if query.until is not None:
        clauses.append("created_at < :until")
        params["until"] = query.until
    if query.cursor is not None:
        created, source, external_id = decode_cursor(query.cursor)
        clauses.append("(created_at, source, external_id) < (:c_at, :c_src, :c_id)")
        params.update(c_at=created, c_src=source, c_id=external_id)

    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    names, rows = store.fetch(
        f"SELECT {', '.join(COLUMNS)} FROM tickets {where} "
        "ORDER BY created_at DESC, source DESC, external_id DESC LIMIT :limit",
        params,
    )
    tickets = [dict(zip(names, row, strict=True)) for row in rows]
    more = len(tickets) > query.limit
    tickets = tickets[: query.limit]
    return tickets, encode_cursor(tickets[-1]) if more else None
