"""Intercom conversations onto tickets and messages, and where the next
search starts. Pure functions, no I/O.

Search pages carry a keyset token (`starting_after`), so a conversation that
changes while paged moves behind the token and is served again, never
skipped. Between passes the search re-anchors on the last `updated_at`
seen; Intercom's `>` includes that second, so its conversations come back
and those already delivered are skipped, once the second is over on the
server (its `Date` header): a conversation changed twice within one second
looks the same both times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from supportpulse.analytics.sentiment import sentiment
from supportpulse.model import AuthorRole, Batch, Message, QuarantinedRecord, Ticket

#: Part types that carry an utterance; the rest (assignment, close, open,
#: snoozed, ...) are state changes already reflected on the conversation.
SPOKEN = ("comment", "note")
CUSTOMER_AUTHORS = ("user", "lead", "contact")
PRIORITIES = {"priority": "high", "not_priority": "normal"}


def at(seconds: int | None) -> datetime | None:
    """Unix seconds as naive UTC."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def plain(html: str | None) -> str | None:
    """The text of an HTML body, tags dropped."""
    if html is None:
        return None
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(chunk.strip() for chunk in parser.chunks if chunk.strip())


# -- paging ---------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where the search stands: the updated_at it starts from, the keyset
    token within that search, and the ids delivered at exactly `since`."""

    since: int
    after: str | None = None
    seen: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The position as kept in the source's cursor."""
        return {"since": self.since, "after": self.after, "seen": list(self.seen)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Position:
        """The position of a saved cursor."""
        return cls(
            int(value["since"]), value.get("after"), tuple(value.get("seen") or ())
        )


@dataclass(frozen=True)
class Step:
    """What one search page yields: records to deliver, the next position."""

    fresh: list[dict[str, Any]]
    position: Position
    more: bool
    skipped: int


def step(
    position: Position,
    rows: list[dict[str, Any]],
    next_after: str | None,
    server_now: int | None,
    settle_s: int = 2,
) -> Step:
    """The conversations of a page not delivered before, and what follows."""
    fresh = [
        row
        for row in rows
        if not (row["updated_at"] == position.since and row["id"] in position.seen)
    ]
    skipped = len(rows) - len(fresh)
    if next_after is not None:
        return Step(
            fresh, Position(position.since, next_after, position.seen), True, skipped
        )
    if not rows:
        return Step(
            fresh, Position(position.since, None, position.seen), False, skipped
        )

    last = max(row["updated_at"] for row in rows)
    at_last = [row["id"] for row in rows if row["updated_at"] == last]
    if last == position.since:
        at_last = [*position.seen, *at_last]
    settled = server_now is not None and server_now - settle_s >= last
    seen = tuple(sorted(set(at_last))) if settled else ()
    return Step(fresh, Position(last, None, seen), False, skipped)


# -- mapping --------------------------------------------------------------


def role_of(author: dict[str, Any] | None) -> AuthorRole:
    """Who wrote a message, from its author's type."""
    kind = (author or {}).get("type")
    if kind in CUSTOMER_AUTHORS:
        return "customer"
    if kind == "bot":
        return "bot"
    return "agent" if kind == "admin" else "system"


def ticket_of(
    source: str, record: dict[str, Any], category_attribute: str | None
) -> Ticket:
    """One conversation (as `GET /conversations/{id}` shows it) as a ticket;
    `record` also holds its team and agent names."""
    conversation = record["conversation"]
    stats = conversation.get("statistics") or {}
    state = conversation.get("state")
    rating = (conversation.get("conversation_rating") or {}).get("rating")
    contacts = (conversation.get("contacts") or {}).get("contacts") or []
    tags = (conversation.get("tags") or {}).get("tags") or []
    attributes = conversation.get("custom_attributes") or {}
    category = attributes.get(category_attribute) if category_attribute else None
    raw = {
        key: value for key, value in conversation.items() if key != "conversation_parts"
    }
    return Ticket(
        source=source,
        external_id=str(conversation["id"]),
        created_at=_required(conversation, "created_at"),
        updated_at=_required(conversation, "updated_at"),
        status=state,
        priority=PRIORITIES.get(conversation.get("priority") or ""),
        channel=(conversation.get("source") or {}).get("type"),
        team=record.get("team"),
        agent=record.get("agent"),
        requester=str(contacts[0]["id"]) if contacts else None,
        category=None if category is None else str(category),
        tags=sorted(str(tag["name"]) for tag in tags),
        first_response_at=at(stats.get("first_admin_reply_at")),
        # Closed now: resolved at the last close; open or snoozed: not yet.
        resolved_at=at(stats.get("last_close_at")) if state == "closed" else None,
        csat=float(rating) if isinstance(rating, int | float) else None,
        raw={
            **raw,
            "source": {k: v for k, v in raw.get("source", {}).items() if k != "body"},
        },
    )


def _required(conversation: dict[str, Any], key: str) -> datetime:
    value = at(conversation.get(key))
    if value is None:
        raise ValueError(f"no {key}")
    return value


def messages_of(source: str, conversation: dict[str, Any]) -> list[Message]:
    """The opening message and every comment or note of a conversation."""
    ticket_id = str(conversation["id"])
    opening = conversation.get("source") or {}
    messages = [
        _message(source, ticket_id, f"{ticket_id}-source", conversation["created_at"],
                 conversation["created_at"], role_of(opening.get("author")),
                 opening.get("author"), opening.get("body")),
    ]  # fmt: skip
    parts = (conversation.get("conversation_parts") or {}).get(
        "conversation_parts"
    ) or []
    for part in parts:
        if part.get("part_type") not in SPOKEN:
            continue
        role = "system" if part["part_type"] == "note" else role_of(part.get("author"))
        messages.append(_message(
            source, ticket_id, str(part["id"]), part["created_at"],
            part.get("updated_at") or part["created_at"], role, part.get("author"),
            part.get("body"),
        ))  # fmt: skip
    return messages


def _message(
    source: str, ticket_id: str, external_id: str, created: int, updated: int,
    role: AuthorRole, author: dict[str, Any] | None, html: str | None,
) -> Message:  # fmt: skip
    text = plain(html)
    author_id = (author or {}).get("id")
    return Message(
        source=source,
        external_id=external_id,
        ticket_external_id=ticket_id,
        created_at=at(created) or datetime.min,
        updated_at=at(updated) or datetime.min,
        author_role=role,
        author_id=None if author_id is None else str(author_id),
        body=text,
        sentiment=sentiment(text) if text and role == "customer" else None,
        raw={"ticket_id": ticket_id, "author_type": (author or {}).get("type")},
    )


def normalize(
    source: str, records: list[dict[str, Any]], category_attribute: str | None
) -> Batch:
    """Delivered conversations as one batch; one that cannot be read is
    quarantined with its id."""
    batch = Batch()
    for position, record in enumerate(records):
        conversation = record["conversation"]
        try:
            batch.tickets.append(ticket_of(source, record, category_attribute))
            batch.messages.extend(messages_of(source, conversation))
        except (KeyError, TypeError, ValueError) as exc:
            batch.quarantined.append(QuarantinedRecord(
                source, "conversations", position,
                f"conversation {conversation.get('id')}: {type(exc).__name__} {exc}",
                str(conversation)[:2000],
            ))  # fmt: skip
    return batch
