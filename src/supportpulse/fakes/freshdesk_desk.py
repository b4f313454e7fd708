"""The data of a fake Freshdesk account: tickets with stats, conversations,
satisfaction ratings, groups and agents, and the changes a busy help desk
makes to them.

Records are kept in the vendor's own JSON shape (API v2), so the fake server
serves them as they are and tests compare the store against them. Every
change stamps the ticket's `updated_at` with the current second, which is how
Freshdesk's `updated_since` listing finds it again.
"""

from __future__ import annotations

import bisect
import copy
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]

#: Status codes (API v2): 2 Open, 3 Pending, 4 Resolved, 5 Closed.
OPEN, PENDING, RESOLVED, CLOSED = 2, 3, 4, 5
#: Ticket sources: email, portal, phone, chat, feedback widget, outbound email.
SOURCES = (1, 2, 3, 7, 9, 10)
#: The classic satisfaction scale, extremely unhappy to extremely happy.
RATINGS = (-103, -102, -101, 100, 101, 102, 103)
TYPES = ("Question", "Incident", "Problem", "Feature Request", None)
TAGS = ("billing", "login", "refund", "bug", "vip", "mobile", "api")
CUSTOMER_LINES = (
    "The export still fails and I am getting really frustrated.",
    "Thanks, that worked perfectly!",
    "Any news on this? It has been days.",
    "I cannot log in after the password reset.",
    "Please cancel my subscription.",
)
AGENT_LINES = (
    "Thanks for reaching out, we are looking into it.",
    "Could you send us a screenshot of the error?",
    "This is fixed now; let us know if anything else comes up.",
)

DAY = 86_400


def stamp(epoch: int) -> str:
    """Freshdesk's timestamp spelling: ISO 8601 in UTC with a Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(text: str) -> int:
    """Seconds since the epoch of a Freshdesk timestamp."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())


class FreshdeskDesk:
    """One account's records, safe to change from one thread while another serves."""

    def __init__(self, seed: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.lock = threading.RLock()
        self.tickets: dict[int, Record] = {}
        self.conversations: dict[int, list[Record]] = {}
        self.ratings: dict[int, list[Record]] = {}
        self.groups = {
            66000000100 + n: {"id": 66000000100 + n, "name": name}
            for n, name in enumerate(("Billing", "Technical", "Onboarding"))
        }
        self.agents = {
            66000009000 + n: {
                "id": 66000009000 + n,
                "contact": {"name": name, "email": f"agent{n}@example.com"},
            }
            for n, name in enumerate(
                ("Ana Silva", "Ben Okafor", "Chen Wei", "Dana Roe")
            )
        }
        self._next_conversation = 1
        self._next_rating = 1
        self._last = 0
        # (updated_at epoch, id) of live and of deleted tickets, kept sorted
        # so a listing from `updated_since` is a bisection, not a sort.
        self._order: dict[bool, list[tuple[int, int]]] = {False: [], True: []}

    # -- time -------------------------------------------------------------

    def now(self) -> int:
        """The current second, never earlier than one already handed out."""
        self._last = max(self._last, int(self.clock()))
        return self._last

    def listing(self, deleted: bool, since: int) -> list[int]:
        """Ids of tickets updated at or after `since`, oldest change first,
        ties by id; call with the lock held."""
        order = self._order[deleted]
        start = bisect.bisect_left(order, (since, -1))
        return [ticket_id for _, ticket_id in order[start:]]

    def updated_epoch(self, ticket: Record) -> int:
        """The ticket's updated_at in epoch seconds."""
        return int(ticket["_updated"])

    # -- building ---------------------------------------------------------

    def populate(self, count: int, days: int = 90) -> None:
        """Add `count` tickets created over the last `days`, with history."""
        with self.lock:
            now = self.now()
            for _ in range(count):
                created = now - self.rng.randint(3600, days * DAY)
                self._new_ticket(created, history_until=now - 60)

    def _new_ticket(self, created: int, history_until: int) -> Record:
        rng = self.rng
        ticket_id = len(self.tickets) + 1
        requester = 67000000000 + rng.randint(1, 5000)
        opening = rng.choice(CUSTOMER_LINES)
        ticket: Record = {
            "id": ticket_id,
            "subject": f"Request {ticket_id}",
            "description": f"<div>{opening}</div>",
            "description_text": opening,
            "status": OPEN,
            "priority": rng.randint(1, 4),
            "source": rng.choice(SOURCES),
            "type": rng.choice(TYPES),
            "requester_id": requester,
            "responder_id": rng.choice([None, *self.agents]),
            "group_id": rng.choice([None, *self.groups]),
            "company_id": None,
            "tags": sorted(rng.sample(TAGS, rng.randint(0, 2))),
            "custom_fields": {},
            "spam": False,
            "deleted": False,
            "is_escalated": False,
            "created_at": stamp(created),
            "updated_at": stamp(created),
            "stats": {
                "agent_responded_at": None,
                "requester_responded_at": None,
                "first_responded_at": None,
                "status_updated_at": stamp(created),
                "reopened_at": None,
                "resolved_at": None,
                "closed_at": None,
                "pending_since": None,
            },
        }
        ticket["_updated"] = created
        self.tickets[ticket_id] = ticket
        bisect.insort(self._order[False], (created, ticket_id))
        self.conversations[ticket_id] = []
        self.ratings[ticket_id] = []

        moment = created
        for _ in range(rng.randint(0, 4)):
            moment += rng.randint(60, 6 * 3600)
            if moment > history_until:
                break
            self._reply(ticket, moment, incoming=rng.random() < 0.4)
        if moment < history_until and rng.random() < 0.5:
            moment += rng.randint(60, 3600)
            if moment <= history_until:
                self._set_status(ticket, rng.choice((RESOLVED, CLOSED)), moment)
                if rng.random() < 0.4:
                    self._rate(ticket, moment)
        return ticket

    # -- changes ----------------------------------------------------------

    def _touch(self, ticket: Record, moment: int, deleted: bool | None = None) -> None:
        """Stamp a change at `moment`; `deleted` moves the ticket in or out
        of the bin."""
        order = self._order[ticket["deleted"]]
        del order[bisect.bisect_left(order, (ticket["_updated"], ticket["id"]))]
        if deleted is not None:
            ticket["deleted"] = deleted
        ticket["_updated"] = max(moment, ticket["_updated"])
        ticket["updated_at"] = stamp(ticket["_updated"])
        bisect.insort(
            self._order[ticket["deleted"]], (ticket["_updated"], ticket["id"])
        )

    def _reply(
        self, ticket: Record, moment: int, incoming: bool, private: bool = False
    ) -> None:
        ticket_id = ticket["id"]
        lines = CUSTOMER_LINES if incoming else AGENT_LINES
        text = self.rng.choice(lines)
        user = (
            ticket["requester_id"] if incoming else self.rng.choice(list(self.agents))
        )
        self.conversations[ticket_id].append({
            "id": self._next_conversation,
            "body": f"<div>{text}</div>",
            "body_text": text,
            "incoming": incoming,
            "private": private,
            "user_id": user,
            "source": 0 if not private else 2,
            "ticket_id": ticket_id,
            "created_at": stamp(moment),
            "updated_at": stamp(moment),
        })  # fmt: skip
        self._next_conversation += 1

        stats = ticket["stats"]
        if incoming:
            stats["requester_responded_at"] = stamp(moment)
        elif not private:
            stats["agent_responded_at"] = stamp(moment)
            stats["first_responded_at"] = stats["first_responded_at"] or stamp(moment)
        self._touch(ticket, moment)

    def _set_status(self, ticket: Record, status: int, moment: int) -> None:
        stats = ticket["stats"]
        if status == ticket["status"]:
            return
        if status in (OPEN, PENDING) and ticket["status"] in (RESOLVED, CLOSED):
            stats["reopened_at"] = stamp(moment)
        if status == RESOLVED:
            stats["resolved_at"] = stamp(moment)
        if status == CLOSED:
            stats["closed_at"] = stamp(moment)
            stats["resolved_at"] = stats["resolved_at"] or stamp(moment)
        stats["pending_since"] = stamp(moment) if status == PENDING else None
        stats["status_updated_at"] = stamp(moment)
        ticket["status"] = status
        self._touch(ticket, moment)

    def _rate(self, ticket: Record, moment: int) -> None:
        value = self.rng.choice(RATINGS)
        self.ratings[ticket["id"]].append({
            "id": self._next_rating,
            "survey_id": 66000000001,
            "user_id": ticket["requester_id"],
            "agent_id": ticket["responder_id"],
            "group_id": ticket["group_id"],
            "ticket_id": ticket["id"],
            "feedback": "",
            "ratings": {"default_question": value},
            "created_at": stamp(moment),
            "updated_at": stamp(moment),
        })  # fmt: skip
        self._next_rating += 1
        # Assumed, as the fake's contract: a new rating counts as a change of
        # its ticket, so an updated_since listing shows the ticket again.
        self._touch(ticket, moment)

    def mutate(self, rng: random.Random | None = None) -> str:
        """Make one random change a help desk would make; return its name."""
        rng = rng or self.rng
        with self.lock:
            now = self.now()
            if not self.tickets or rng.random() < 0.08:
                self._new_ticket(now, history_until=now)
                return "create"
            ticket = self.tickets[rng.randint(1, len(self.tickets))]
            change = rng.choice(_CHANGES)
            if ticket["deleted"] and change != "restore":
                change = "restore" if rng.random() < 0.3 else "none"
            _APPLY[change](self, ticket, now, rng)
            return change

    def snapshot(
        self,
    ) -> tuple[dict[int, Record], dict[int, list[Record]], dict[int, list[Record]]]:
        """Deep copies of tickets, conversations and ratings, taken atomically."""
        with self.lock:
            tickets = {
                ticket_id: {k: v for k, v in ticket.items() if k != "_updated"}
                for ticket_id, ticket in self.tickets.items()
            }
            return (
                copy.deepcopy(tickets),
                copy.deepcopy(self.conversations),
                copy.deepcopy(self.ratings),
            )


def _agent_reply(
    desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random
) -> None:
    desk._reply(ticket, now, incoming=False)


def _customer_reply(
    desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random
) -> None:
    desk._reply(ticket, now, incoming=True)


def _note(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    desk._reply(ticket, now, incoming=False, private=True)


def _status(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    desk._set_status(ticket, rng.choice((OPEN, PENDING, RESOLVED, CLOSED)), now)


def _priority(
    desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random
) -> None:
    ticket["priority"] = rng.randint(1, 4)
    desk._touch(ticket, now)


def _assign(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    ticket["responder_id"] = rng.choice([None, *desk.agents])
    ticket["group_id"] = rng.choice([None, *desk.groups])
    desk._touch(ticket, now)


def _tag(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    ticket["tags"] = sorted({*ticket["tags"], rng.choice(TAGS)})
    desk._touch(ticket, now)


def _rating(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    desk._rate(ticket, now)


def _delete(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    desk._touch(ticket, now, deleted=True)


def _restore(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    if ticket["deleted"]:
        desk._touch(ticket, now, deleted=False)


def _nothing(desk: FreshdeskDesk, ticket: Record, now: int, rng: random.Random) -> None:
    return None


_APPLY: dict[str, Callable[[FreshdeskDesk, Record, int, random.Random], None]] = {
    "agent_reply": _agent_reply,
    "customer_reply": _customer_reply,
    "note": _note,
    "status": _status,
    "priority": _priority,
    "assign": _assign,
    "tag": _tag,
    "rating": _rating,
    "delete": _delete,
    "restore": _restore,
    "none": _nothing,
}
_CHANGES = (
    *("agent_reply", "customer_reply", "status", "priority", "assign"),
    *("tag", "note", "rating", "delete", "agent_reply", "status"),
)
