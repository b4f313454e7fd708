"""Zendesk records onto supportpulse tickets and messages, without I/O.

`join_page` turns one export page (tickets with their sideloaded metric
sets, users and groups) and the comments fetched for it into one record per
ticket; `to_batch` maps those records. The mapping is tabled in
docs/connectors.md.

Zendesk's own figures win where it has them (PRODUCT.md section 2): first
response from the ticket metric `reply_time_in_seconds` (or, at minute
precision, `reply_time_in_minutes`), resolution from `solved_at`. A ticket
exported with status `deleted` is removed from the store with its messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from supportpulse.analytics.sentiment import sentiment
from supportpulse.errors import RecordError
from supportpulse.model import AuthorRole, Batch, Message, QuarantinedRecord, Ticket

Record = dict[str, Any]

_CSAT = {"good": 1.0, "bad": 0.0}
_AGENT_ROLES = {"agent", "admin"}


def join_page(
    document: Record,
    comments: dict[int, list[Record]] | None = None,
    authors: dict[Any, Record] | None = None,
) -> list[Record]:
    """One record per exported ticket: the ticket, its metric set, the users
    and group it names, and its comments and their authors when fetched."""
    metrics = {m.get("ticket_id"): m for m in document.get("metric_sets") or []}
    users = {u.get("id"): u for u in document.get("users") or []}
    groups = {g.get("id"): g for g in document.get("groups") or []}
    records = []
    for ticket in document.get("tickets") or []:
        if not isinstance(ticket, dict):
            continue
        ticket_id = ticket.get("id")
        record: Record = {
            "ticket": ticket,
            "metric_set": metrics.get(ticket_id),
            "group": groups.get(ticket.get("group_id")),
            "users": {
                ticket.get(key): users[ticket.get(key)]
                for key in ("assignee_id", "requester_id")
                if ticket.get(key) in users
            },
        }
        if comments is not None and ticket_id in comments:
            record["comments"] = comments[ticket_id]
            record["authors"] = authors or {}
        records.append(record)
    return records


def to_batch(records: list[Record], source: str, category_field: int | None) -> Batch:
    """Tickets, messages, deletions and quarantined records of one page."""
    batch = Batch()
    for position, record in enumerate(records):
        ticket = record["ticket"]
        try:
            if ticket.get("status") == "deleted":
                batch.deleted_tickets.append((source, _id(ticket)))
                continue
            batch.tickets.append(to_ticket(record, source, category_field))
            for comment in record.get("comments") or []:
                batch.messages.append(
                    to_message(
                        comment, _id(ticket), record.get("authors") or {}, source
                    )
                )
        except RecordError as exc:
            batch.quarantined.append(QuarantinedRecord(
                source, "zendesk incremental export", position, exc.reason,
                str(ticket)[:2000],
            ))  # fmt: skip
    return batch


def to_ticket(record: Record, source: str, category_field: int | None) -> Ticket:
    """One Zendesk ticket with its sideloads as a supportpulse ticket."""
    ticket = record["ticket"]
    metric = record.get("metric_set") or {}
    users = record.get("users") or {}
    created = _time(ticket.get("created_at"), "created_at")
    updated = _time(ticket.get("updated_at"), "updated_at")
    generated = ticket.get("generated_timestamp")
    if isinstance(generated, int | float):
        # Every change moves generated_timestamp, system changes included; it
        # orders two versions that share an updated_at.
        updated = max(
            updated, datetime.fromtimestamp(generated, UTC).replace(tzinfo=None)
        )
    status = ticket.get("status")
    solved_at = metric.get("solved_at")
    return Ticket(
        source=source,
        external_id=_id(ticket),
        created_at=created,
        updated_at=updated,
        status=status,
        priority=ticket.get("priority"),
        channel=(ticket.get("via") or {}).get("channel"),
        team=(record.get("group") or {}).get("name"),
        agent=_name(users, ticket.get("assignee_id")),
        requester=_name(users, ticket.get("requester_id")),
        category=_category(ticket, category_field),
        tags=[str(tag) for tag in ticket.get("tags") or []],
        first_response_at=_first_response(created, metric),
        resolved_at=_time(solved_at, "solved_at")
        if solved_at and status in ("solved", "closed")
        else None,
        csat=_CSAT.get(str((ticket.get("satisfaction_rating") or {}).get("score"))),
        raw={
            "generated_timestamp": generated,
            "type": ticket.get("type"),
            "group_id": ticket.get("group_id"),
            "assignee_id": ticket.get("assignee_id"),
            "requester_id": ticket.get("requester_id"),
            "organization_id": ticket.get("organization_id"),
            "brand_id": ticket.get("brand_id"),
        },
    )


def to_message(
    comment: Record, ticket_id: str, authors: dict[Any, Record], source: str
) -> Message:
    """One ticket comment as a message; internal notes are `system` messages,
    so they never count as a reply to the customer."""
    created = _time(comment.get("created_at"), "comment created_at")
    author_id = comment.get("author_id")
    role = _role(comment, authors.get(author_id))
    body = comment.get("plain_body") or comment.get("body")
    return Message(
        source=source,
        external_id=str(comment.get("id")),
        ticket_external_id=ticket_id,
        created_at=created,
        updated_at=created,
        author_role=role,
        author_id=None if author_id is None else str(author_id),
        body=body,
        sentiment=sentiment(body) if role == "customer" and body else None,
        raw={"public": comment.get("public"), "type": comment.get("type")},
    )


def _role(comment: Record, author: Record | None) -> AuthorRole:
    if not comment.get("public", True) or author is None:
        return "system"
    return "agent" if author.get("role") in _AGENT_ROLES else "customer"


def _first_response(created: datetime, metric: Record) -> datetime | None:
    seconds = (metric.get("reply_time_in_seconds") or {}).get("calendar")
    if isinstance(seconds, int | float):
        return created + timedelta(seconds=seconds)
    minutes = (metric.get("reply_time_in_minutes") or {}).get("calendar")
    if isinstance(minutes, int | float):
        return created + timedelta(minutes=minutes)
    return None


def _category(ticket: Record, category_field: int | None) -> str | None:
    if category_field is None:
        kind = ticket.get("type")
        return None if kind is None else str(kind)
    for custom in ticket.get("custom_fields") or []:
        if isinstance(custom, dict) and custom.get("id") == category_field:
            value = custom.get("value")
            return None if value in (None, "") else str(value)
    return None


def _name(users: dict[Any, Record], user_id: Any) -> str | None:
    if user_id is None:
        return None
    user = users.get(user_id)
    return str(user["name"]) if user and user.get("name") else str(user_id)


def _id(ticket: Record) -> str:
    ticket_id = ticket.get("id")
    if not isinstance(ticket_id, int):
        raise RecordError(f"ticket id {ticket_id!r} is not a number")
    return str(ticket_id)


def _time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise RecordError(f"{field} is missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{field} '{value}' is not an ISO 8601 time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
