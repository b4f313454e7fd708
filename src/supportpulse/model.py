"""The canonical records every source is normalized into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

AuthorRole = Literal["customer", "agent", "bot", "system"]
AUTHOR_ROLES: tuple[AuthorRole, ...] = ("customer", "agent", "bot", "system")


@dataclass(slots=True)
class Ticket:
    """One conversation with one customer, keyed by (source, external_id).

    Times are naive datetimes holding UTC.
    """

    source: str
    external_id: str
    created_at: datetime
    updated_at: datetime
    status: str | None = None
    priority: str | None = None
    channel: str | None = None
    team: str | None = None
    agent: str | None = None
    requester: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    csat: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Message:
    """One utterance in a ticket; `reply_to` is the external id it answers."""

    source: str
    external_id: str
    ticket_external_id: str
    created_at: datetime
    updated_at: datetime
    author_role: AuthorRole
    author_id: str | None = None
    reply_to: str | None = None
    body: str | None = None
    sentiment: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class QuarantinedRecord:
    """An input record that could not be used, with where it came from and why."""

    source: str
    file: str
    line: int | None
    reason: str
    record: str | None


@dataclass(slots=True)
class Batch:
    """Records written to the store in one transaction."""

    tickets: list[Ticket] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    #: (source, external_id) of tickets that no longer exist, e.g. merged
    #: into another conversation.
    deleted_tickets: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.tickets) + len(self.messages) + len(self.quarantined)
            + len(self.deleted_tickets)
        )  # fmt: skip
