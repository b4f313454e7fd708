"""The in-memory Zendesk account behind the fake API: data and how it changes.

Tickets, users, groups, ticket metric sets and comments, shaped like the
records Zendesk's API returns. Every change of a ticket, including system
changes that leave `updated_at` alone, moves its `generated_timestamp` to
the current second, which is what the incremental export orders by. A
background mutator (`mutate`) creates, updates, comments, rates, deletes and
touches tickets while a sync runs; all access goes through one lock.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

Record = dict[str, Any]

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("urgent", "high", "normal", "low", None)
CHANNELS = ("web", "email", "api", "voice", "chat", "native_messaging")
TYPES = ("problem", "incident", "question", "task", None)
CATEGORY_FIELD = 360001
CATEGORIES = ("billing", "shipping", "account", "bug")
_WORDS = ("refund", "order", "late", "thanks", "broken", "great", "help", "login")


def iso(moment: datetime) -> str:
    """Zendesk's timestamp format: ISO 8601 in UTC, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(start: datetime, end: datetime | None) -> dict[str, int | None]:
    value = None if end is None else int((end - start).total_seconds() // 60)
    return {"calendar": value, "business": value}


class ZendeskAccount:
    """One fake account: records by id and the export order of tickets."""

    def __init__(
        self,
        subdomain: str = "acme",
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subdomain = subdomain
        self.clock = clock
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.users: dict[int, Record] = {}
        self.groups: dict[int, Record] = {}
        self.tickets: dict[int, Record] = {}
        self.metric_sets: dict[int, Record] = {}
        self.comments: dict[int, list[Record]] = {}
        #: (generated_timestamp, id) of every ticket, sorted: the export order.
        self.order: list[tuple[int, int]] = []
        self._next_id = 1
        self.agents: list[int] = []
        self.customers: list[int] = []

    # -- building ----------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _url(self, kind: str, record_id: int) -> str:
        return f"https://{self.subdomain}.zendesk.com/api/v2/{kind}/{record_id}.json"

    def add_user(self, name: str, role: str) -> int:
        """A user: role `end-user`, `agent` or `admin`."""
        user_id = self._id() + 1_000_000
        self.users[user_id] = {
            "id": user_id,
            "url": self._url("users", user_id),
            "name": name,
            "email": f"{name.lower().replace(' ', '.')}@example.org",
            "role": role,
            "active": True,
        }
        (self.customers if role == "end-user" else self.agents).append(user_id)
        return user_id

    def add_group(self, name: str) -> int:
        """An agent group (a team)."""
        group_id = self._id() + 5_000_000
        self.groups[group_id] = {
            "id": group_id,
            "url": self._url("groups", group_id),
            "name": name,
            "deleted": False,
        }
        return group_id

    def populate(self, tickets: int, now: datetime | None = None) -> None:
        """Agents, customers, groups and `tickets` tickets from the last 30 days,
        all older than the export's hidden last minute."""
        now = now or datetime.fromtimestamp(self.clock(), UTC)
        with self.lock:
            for index in range(5):
                self.add_group(f"Team {index + 1}")
            for index in range(20):
                self.add_user(f"Agent {index + 1}", "agent" if index else "admin")
            for index in range(max(1, tickets // 3)):
                self.add_user(f"Customer {index + 1}", "end-user")
            span = 30 * 86_400
            for _ in range(tickets):
                # Far enough back that every reply is older than the
                # export's hidden last minute.
                created = now - timedelta(seconds=40_000 + self.rng.randrange(span))
                self._new_ticket(created)

    def _new_ticket(self, created: datetime, fresh: bool = False) -> int:
        """A ticket with its history; a `fresh` one was just submitted."""
        rng = self.rng
        ticket_id = self._id()
        requester = rng.choice(self.customers)
        status = "new" if fresh else rng.choice(STATUSES)
        ticket: Record = {
            "id": ticket_id,
            "url": self._url("tickets", ticket_id),
            "external_id": None,
            "via": {"channel": rng.choice(CHANNELS), "source": {"rel": None}},
            "created_at": iso(created),
            "updated_at": iso(created),
            "generated_timestamp": 0,
            "type": rng.choice(TYPES),
            "subject": f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}",
            "description": f"My {rng.choice(_WORDS)} is {rng.choice(_WORDS)}",
            "priority": rng.choice(PRIORITIES),
            "status": status,
            "requester_id": requester,
            "submitter_id": requester,
            "assignee_id": rng.choice([*self.agents, None]),
            "organization_id": None,
            "group_id": rng.choice([*self.groups, None]),
            "brand_id": 7,
            "tags": sorted(rng.sample(_WORDS, rng.randrange(3))),
            "custom_fields": [
                {"id": CATEGORY_FIELD, "value": rng.choice([*CATEGORIES, None])}
            ],
            "satisfaction_rating": {"score": "unoffered"},
            "is_public": True,
            "from_messaging_channel": False,
        }
        self.tickets[ticket_id] = ticket
        self.comments[ticket_id] = []
        self._comment(ticket_id, requester, created, str(ticket["description"]))
        replies = rng.randrange(4) if status != "new" else 0
        moment = created
        for index in range(replies):
            moment += timedelta(seconds=rng.randrange(60, 7200))
            author = ticket["assignee_id"] or rng.choice(self.agents)
            if index % 2:
                author = requester
            self._comment(ticket_id, author, moment, f"{rng.choice(_WORDS)} indeed")
        if status in ("solved", "closed"):
            moment += timedelta(seconds=rng.randrange(60, 7200))
            self._rate(ticket)
        ticket["updated_at"] = iso(moment)
        self._measure(
            ticket_id, solved=moment if status in ("solved", "closed") else None
        )
        ticket["generated_timestamp"] = int(moment.timestamp())
        bisect.insort(self.order, (ticket["generated_timestamp"], ticket_id))
        return ticket_id

    def _comment(
        self, ticket_id: int, author: int, moment: datetime, body: str
    ) -> None:
        public = self.users[author]["role"] == "end-user" or self.rng.random() > 0.1
        self.comments[ticket_id].append({
            "id": self._id() + 900_000_000,
            "type": "Comment",
            "author_id": author,
            "body": body,
            "plain_body": body,
            "html_body": f"<p>{body}</p>",
            "public": public,
            "attachments": [],
            "created_at": iso(moment),
            "via": {"channel": "web"},
        })  # fmt: skip

    def _rate(self, ticket: Record) -> None:
        score = self.rng.choice(("good", "bad", "offered"))
        rating: Record = {"score": score}
        if score != "offered":
            rating["id"] = self._id() + 80_000_000
            rating["comment"] = self.rng.choice(("", "Quick help", "Too slow"))
        ticket["satisfaction_rating"] = rating

    def _measure(self, ticket_id: int, solved: datetime | None) -> None:
        """The ticket's metric set, consistent with its comments and status."""
        ticket = self.tickets[ticket_id]
        created = _parse(ticket["created_at"])
        first_reply = next(
            (
                _parse(comment["created_at"])
                for comment in self.comments[ticket_id]
                if comment["public"]
                and self.users[comment["author_id"]]["role"] != "end-user"
            ),
            None,
        )
        previous = self.metric_sets.get(ticket_id, {})
        self.metric_sets[ticket_id] = {
            "id": previous.get("id", self._id() + 700_000_000),
            "ticket_id": ticket_id,
            "url": self._url("ticket_metrics", ticket_id),
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
            "reopens": previous.get("reopens", 0),
            "replies": sum(
                self.users[c["author_id"]]["role"] != "end-user"
                for c in self.comments[ticket_id]
            ),
            "solved_at": iso(solved) if solved else None,
            "reply_time_in_minutes": _minutes(created, first_reply),
            "reply_time_in_seconds": {
                "calendar": None
                if first_reply is None
                else int((first_reply - created).total_seconds())
            },
            "first_resolution_time_in_minutes": previous.get(
                "first_resolution_time_in_minutes", _minutes(created, solved)
            ),
            "full_resolution_time_in_minutes": _minutes(created, solved),
            "requester_wait_time_in_minutes": _minutes(created, solved),
            "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
        }

    # -- changes -----------------------------------------------------------

    def _touch(self, ticket_id: int, *, updated: bool) -> datetime:
        """Move a ticket to the end of the export: a new generated_timestamp."""
        now = self.clock()
        ticket = self.tickets[ticket_id]
        old = (ticket["generated_timestamp"], ticket_id)
        del self.order[bisect.bisect_left(self.order, old)]
        ticket["generated_timestamp"] = int(now)
        bisect.insort(self.order, (int(now), ticket_id))
        moment = datetime.fromtimestamp(int(now), UTC)
        if updated:
            ticket["updated_at"] = iso(moment)
        return moment

    def mutate(self) -> str:
        """Apply one random change, as agents and customers would; returns its kind."""
        with self.lock:
            # Closed tickets are final in Zendesk: only deletion reaches them.
            live = [
                ticket_id
                for ticket_id, ticket in self.tickets.items()
                if ticket["status"] not in ("deleted", "closed")
            ]
            kind = self.rng.choices(
                ("create", "update", "reply", "system", "delete"), (3, 4, 4, 2, 1)
            )[0]
            if kind == "create" or not live:
                now = datetime.fromtimestamp(int(self.clock()), UTC)
                self._new_ticket(now, fresh=True)
                return "create"
            ticket_id = self.rng.choice(live)
            getattr(self, f"_{kind}")(ticket_id)
            return kind

    def _update(self, ticket_id: int) -> None:
        ticket = self.tickets[ticket_id]
        ticket["status"] = self.rng.choice(STATUSES[1:])
        ticket["priority"] = self.rng.choice(PRIORITIES)
        ticket["assignee_id"] = self.rng.choice([*self.agents, None])
        ticket["group_id"] = self.rng.choice([*self.groups, None])
        ticket["tags"] = sorted(self.rng.sample(_WORDS, self.rng.randrange(4)))
        moment = self._touch(ticket_id, updated=True)
        solved = ticket["status"] in ("solved", "closed")
        if solved:
            self._rate(ticket)
        self._measure(ticket_id, solved=moment if solved else None)

    def _reply(self, ticket_id: int) -> None:
        ticket = self.tickets[ticket_id]
        moment = self._touch(ticket_id, updated=True)
        author = self.rng.choice([ticket["requester_id"], *self.agents[:3]])
        self._comment(ticket_id, author, moment, f"{self.rng.choice(_WORDS)} again")
        if ticket["status"] == "solved":
            ticket["status"] = "open"
            self.metric_sets[ticket_id]["reopens"] += 1
        self._measure(ticket_id, solved=None)

    def _system(self, ticket_id: int) -> None:
        """A change by Zendesk itself (metrics recomputed): a new
        generated_timestamp while updated_at stays."""
        self._touch(ticket_id, updated=False)
        self.metric_sets[ticket_id]["on_hold_time_in_minutes"]["calendar"] += 1

    def _delete(self, ticket_id: int) -> None:
        self.tickets[ticket_id]["status"] = "deleted"
        self._touch(ticket_id, updated=True)

    # -- reading -----------------------------------------------------------

    def after(
        self, position: tuple[int, int], limit: int, horizon: int
    ) -> list[Record]:
        """Up to `limit` tickets ordered after `position`, none newer than `horizon`."""
        start = bisect.bisect_right(self.order, position)
        found: list[Record] = []
        for generated, ticket_id in self.order[start:]:
            if generated > horizon or len(found) == limit:
                break
            found.append(self.tickets[ticket_id])
        return found

    def has_after(self, position: tuple[int, int], horizon: int) -> bool:
        """Whether any ticket up to `horizon` is ordered after `position`."""
        start = bisect.bisect_right(self.order, position)
        return start < len(self.order) and self.order[start][0] <= horizon

    @contextmanager
    def locked(self) -> Iterator[ZendeskAccount]:
        """Hold the account still, e.g. to compare it with a store."""
        with self.lock:
            yield self


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
