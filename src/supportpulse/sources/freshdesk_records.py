"""Freshdesk records onto tickets and messages, and where the next page starts.

Pure functions, no I/O: the source fetches, these decide.

Paging. Freshdesk pages by offset (`page=N`) over tickets ordered by
`updated_at`. A ticket updated while the listing is paged jumps to its end,
shifting every later ticket one place back, so the ticket at the next page's
head is never served: offset paging over a changing account loses records.
Each request therefore re-anchors (`updated_since` = the last `updated_at`
seen, page 1) by default, which also never meets the 300-page cap. Only a
second with more changes than a page holds is paged by offset within it.
`updated_since` is inclusive, so a re-anchored page repeats the tickets of its
first second; those already delivered are skipped, but only once that second
is over on the server (its `Date` header), as a ticket changed twice within a
second looks the same both times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from supportpulse.analytics.sentiment import sentiment
from supportpulse.errors import RecordError
from supportpulse.model import AuthorRole, Batch, Message, QuarantinedRecord, Ticket

STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
CHANNELS = {
    1: "email", 2: "portal", 3: "phone", 4: "forum", 5: "twitter", 6: "facebook",
    7: "chat", 8: "mobihelp", 9: "feedback_widget", 10: "outbound_email",
}  # fmt: skip
#: The classic satisfaction answers, extremely unhappy to extremely happy, on
#: the 1-5 scale used for CSAT everywhere (a 3-point survey gives 1, 3, 5).
SATISFACTION = {-103: 1.0, -102: 5 / 3, -101: 7 / 3, 100: 3.0, 101: 11 / 3, 102: 13 / 3,
                103: 5.0}  # fmt: skip
DELETED = "deleted"


def parse_time(value: str) -> datetime:
    """A Freshdesk timestamp as naive UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def epoch(value: str) -> int:
    """A Freshdesk timestamp in whole epoch seconds."""
    return int(parse_time(value).replace(tzinfo=UTC).timestamp())


def spell(seconds: int) -> str:
    """Epoch seconds as Freshdesk spells timestamps in queries."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- paging ---------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """Where one listing stands: `updated_since` in epoch seconds, the page
    within it, the ids already delivered at exactly `since`, and the last
    `updated_at` served since the anchor was set."""

    since: int
    page: int = 1
    seen: tuple[int, ...] = ()
    last: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The anchor as it is kept in the source's cursor."""
        return {"since": spell(self.since), "page": self.page, "seen": list(self.seen),
                "last": None if self.last is None else spell(self.last)}  # fmt: skip

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Anchor:
        """The anchor of a saved cursor."""
        last = value.get("last")
        return cls(
            epoch(value["since"]), int(value["page"]), tuple(value["seen"]),
            None if last is None else epoch(last),
        )  # fmt: skip


class TooManyInOneSecondError(Exception):
    """More tickets changed within one second than the page cap lets a
    listing reach; no anchor can get past them."""


def capped(anchor: Anchor) -> Anchor:
    """Where to go when the server refuses `anchor.page` as past its cap:
    re-anchor on the last updated_at served (Freshdesk's 300-page cap)."""
    if anchor.last is None or anchor.last <= anchor.since:
        raise TooManyInOneSecondError(spell(anchor.since))
    return Anchor(anchor.last)


@dataclass(frozen=True)
class Step:
    """What one listing page yields: records to deliver and where to go next."""

    fresh: list[dict[str, Any]]
    anchor: Anchor
    more: bool
    skipped: int = field(default=0)


def step(
    anchor: Anchor,
    rows: list[dict[str, Any]],
    has_next: bool,
    server_now: int | None,
    *,
    pages_per_anchor: int = 1,
    settle_s: int = 2,
) -> Step:
    """The records of a page not delivered before, and the next anchor."""
    fresh = [
        row
        for row in rows
        if not (epoch(row["updated_at"]) == anchor.since and row["id"] in anchor.seen)
    ]
    skipped = len(rows) - len(fresh)
    if not rows:
        # Past the end (tickets left the window since the last page): go
        # back to the first page of the same anchor.
        return Step([], Anchor(anchor.since, 1, anchor.seen), anchor.page > 1, skipped)

    last = epoch(rows[-1]["updated_at"])
    if has_next and (anchor.page < pages_per_anchor or last == anchor.since):
        # Whole page within one second, or offset paging allowed: page on.
        following = Anchor(anchor.since, anchor.page + 1, anchor.seen, last)
        return Step(fresh, following, True, skipped)

    at_last = [row["id"] for row in rows if epoch(row["updated_at"]) == last]
    if last == anchor.since:
        at_last = [*anchor.seen, *at_last]
    settled = server_now is not None and server_now - settle_s >= last
    seen = tuple(sorted(set(at_last))) if settled else ()
    return Step(fresh, Anchor(last, 1, seen), has_next, skipped)


# -- mapping --------------------------------------------------------------


@dataclass
class Lookups:
    """Names behind the ids on tickets: groups (teams) and agents."""

    groups: dict[int, str] = field(default_factory=dict)
    agents: dict[int, str] = field(default_factory=dict)

    def name(self, record: dict[str, Any]) -> None:
        """Add the ticket's team and agent names to a delivered record."""
        ticket = record["ticket"]
        record["team"] = self.groups.get(ticket.get("group_id") or 0)
        record["agent"] = self.agents.get(ticket.get("responder_id") or 0)

    def missing(self, tickets: list[dict[str, Any]]) -> bool:
        """Whether a ticket names a group or agent not known yet."""
        return any(
            (t.get("group_id") is not None and t["group_id"] not in self.groups)
            or (
                t.get("responder_id") is not None
                and t["responder_id"] not in self.agents
            )
            for t in tickets
        )


def _optional_time(value: Any) -> datetime | None:
    return parse_time(value) if value else None


def _csat(ratings: list[dict[str, Any]]) -> float | None:
    """The latest rating's answer to the default question, on 1-5."""
    if not ratings:
        return None
    latest = max(ratings, key=lambda rating: (rating["created_at"], rating["id"]))
    answer = (latest.get("ratings") or {}).get("default_question")
    return SATISFACTION.get(answer) if isinstance(answer, int) else None


def ticket_of(source: str, record: dict[str, Any]) -> Ticket:
    """One Freshdesk ticket (listed with stats) as a supportpulse ticket;
    `record` holds the ticket, its ratings, and its group and agent names."""
    ticket, ratings = record["ticket"], record["ratings"]
    stats = ticket.get("stats") or {}
    status_code = ticket.get("status")
    status = STATUSES.get(status_code, f"status_{status_code}")
    resolved = None
    if status_code in (4, 5):
        # The last time it became resolved or closed; a reopened ticket is
        # open again, whatever its stats remember.
        resolved = _optional_time(stats.get("resolved_at") or stats.get("closed_at"))
    if ticket.get("deleted"):
        status = DELETED
    priority = ticket.get("priority")
    channel = ticket.get("source")
    return Ticket(
        source=source,
        external_id=str(ticket["id"]),
        created_at=parse_time(ticket["created_at"]),
        updated_at=parse_time(ticket["updated_at"]),
        status=status,
        priority=PRIORITIES.get(priority, f"priority_{priority}") if priority else None,
        channel=CHANNELS.get(channel, f"source_{channel}") if channel else None,
        team=record.get("team"),
        agent=record.get("agent"),
        requester=str(ticket["requester_id"]) if ticket.get("requester_id") else None,
        category=ticket.get("type"),
        tags=sorted(str(tag) for tag in ticket.get("tags") or []),
        first_response_at=_optional_time(stats.get("first_responded_at")),
        resolved_at=resolved,
        csat=_csat(ratings),
        raw={key: value for key, value in ticket.items() if not key.startswith("desc")},
    )


def description_of(source: str, ticket: dict[str, Any]) -> Message:
    """The ticket's opening text, which Freshdesk keeps out of conversations,
    as the customer's first message."""
    text = ticket.get("description_text")
    created = parse_time(ticket["created_at"])
    return Message(
        source=source,
        external_id=f"{ticket['id']}-description",
        ticket_external_id=str(ticket["id"]),
        created_at=created,
        updated_at=created,
        author_role="customer",
        author_id=str(ticket["requester_id"]) if ticket.get("requester_id") else None,
        body=text,
        sentiment=sentiment(text) if text else None,
        raw={"ticket_id": ticket["id"], "description": True},
    )


def message_of(source: str, ticket_id: int, conversation: dict[str, Any]) -> Message:
    """One conversation entry: incoming is the customer, a private note is
    internal (system), any other reply is the agent's."""
    role: AuthorRole
    if conversation.get("incoming"):
        role = "customer"
    elif conversation.get("private"):
        role = "system"
    else:
        role = "agent"
    text = conversation.get("body_text")
    return Message(
        source=source,
        external_id=str(conversation["id"]),
        ticket_external_id=str(ticket_id),
        created_at=parse_time(conversation["created_at"]),
        updated_at=parse_time(conversation["updated_at"]),
        author_role=role,
        author_id=str(conversation["user_id"]) if conversation.get("user_id") else None,
        body=text,
        sentiment=sentiment(text) if text and role == "customer" else None,
        raw={
            key: value
            for key, value in conversation.items()
            if not key.startswith("body")
        },
    )


def normalize(source: str, records: list[dict[str, Any]]) -> Batch:
    """Delivered records (ticket, conversations, ratings) as one batch; a
    record that cannot be read is quarantined with its ticket id."""
    batch = Batch()
    for position, record in enumerate(records):
        ticket = record["ticket"]
        try:
            batch.tickets.append(ticket_of(source, record))
            if record["conversations"] is None:
                continue
            batch.messages.append(description_of(source, ticket))
            batch.messages.extend(
                message_of(source, ticket["id"], conversation)
                for conversation in record["conversations"]
            )
        except (KeyError, TypeError, ValueError, RecordError) as exc:
            batch.quarantined.append(QuarantinedRecord(
                source, "tickets", position,
                f"ticket {ticket.get('id')}: {type(exc).__name__} {exc}", str(ticket)[:2000],
            ))  # fmt: skip
    return batch
