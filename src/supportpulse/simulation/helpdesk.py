"""The help-desk model: each hour's tickets and the life each ticket leads.

Tickets of one hour are drawn from a random generator seeded by the seed and
the hour itself, so any stretch of time can be generated on its own and the
same hour always holds the same tickets, whatever the run started with. Each
ticket's whole life (first reply, follow-ups, resolution, rating) is decided
when it arrives; `timeline` merges those lives into one event-time stream.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from supportpulse.simulation.calendar import arrival_rate, staffed
from supportpulse.simulation.texts import (
    FIRST_MOODS,
    FOLLOW_UP_MOODS,
    agent_text,
    customer_text,
    pick,
)

HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1)

PRIORITIES = {"urgent": 0.05, "high": 0.2, "normal": 0.55, "low": 0.2}
CHANNELS = {"email": 0.4, "chat": 0.3, "web": 0.15, "phone": 0.1, "twitter": 0.05}
CATEGORIES = {
    "billing": 0.25,
    "login": 0.2,
    "bug": 0.2,
    "shipping": 0.2,
    "refund": 0.15,
}
#: Which team owns each category, and who works in each team.
TEAM_OF = {
    "billing": "billing",
    "refund": "billing",
    "login": "technical",
    "bug": "technical",
    "shipping": "orders",
}
AGENTS = {
    "billing": ("alice", "bruno", "chen"),
    "technical": ("dana", "emeka", "farah", "goran"),
    "orders": ("hana", "ivan"),
}
#: Median first-response time per priority while the team is on shift; each
#: is about half the default SLA target, so most tickets are answered in time
#: and a realistic share breach.
FIRST_REPLY_MEDIAN_S = {
    "urgent": 420.0,
    "high": 1800.0,
    "normal": 7200.0,
    "low": 28800.0,
}
#: Off shift, the few agents on call answer this many times slower.
OFF_SHIFT_FACTOR = 2.5
RESOLVED_SHARE = 0.92
RATED_SHARE = 0.5


@dataclass(frozen=True, order=True)
class Event:
    """One raw record and the event time it happens at.

    `order` breaks ties between records of the same instant deterministically:
    (hour, ticket number in the hour, step in the ticket's life).
    """

    at: datetime
    order: tuple[int, int, int]
    record: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class HelpdeskModel:
    """The parameters that fully determine a simulated help desk."""

    seed: int = 1
    #: Mean tickets per hour over a week; the calendar shapes each hour.
    per_hour: float = 12.0
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def hour_events(self, hour: datetime) -> list[Event]:
        """Every event of the tickets that arrive in the hour starting at `hour`."""
        slot = int((hour - _EPOCH) / HOUR)
        rng = random.Random(f"supportpulse-sim:{self.seed}:{slot}")
        local = hour.replace(tzinfo=UTC).astimezone(self.zone)
        count = _poisson(rng, arrival_rate(local, self.per_hour))
        arrivals = sorted(rng.uniform(0, 3600) for _ in range(count))
        events: list[Event] = []
        for number, offset in enumerate(arrivals):
            created = hour + timedelta(seconds=round(offset, 3))
            life = _TicketLife(rng, self, f"SIM-{slot}-{number:03d}", created)
            events.extend(
                Event(at, (slot, number, step), record)
                for step, (at, record) in enumerate(life.events())
            )
        return events


def timeline(
    model: HelpdeskModel, start: datetime, until: datetime | None = None
) -> Iterator[Event]:
    """Events of tickets created from `start` on, in event-time order.

    Endless without `until`; with it, only events before `until`, so a ticket
    still open then stays open.
    """
    pending: list[Event] = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while until is None or hour < until or pending:
        if until is None or hour < until:
            events = model.hour_events(hour)
            early = {e.order[1] for e in events if e.order[2] == 0 and e.at < start}
            for event in events:
                if event.order[1] not in early and (until is None or event.at < until):
                    heapq.heappush(pending, event)
            hour += HOUR
        # Tickets of later hours arrive at or after `hour`; all before is final.
        ended = until is not None and hour >= until
        while pending and (ended or pending[0].at < hour):
            yield heapq.heappop(pending)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: Knuth's product method, a normal approximation for
    large means where exp(-mean) would underflow."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _lognormal(rng: random.Random, median_s: float, sigma: float = 0.9) -> timedelta:
    return timedelta(seconds=round(rng.lognormvariate(math.log(median_s), sigma), 3))


class _TicketLife:
    """One ticket from arrival to rating, decided up front."""

    def __init__(
        self,
        rng: random.Random,
        model: HelpdeskModel,
        ticket_id: str,
        created: datetime,
    ) -> None:
        self.rng = rng
        self.id = ticket_id
        self.created = created
        self.category = pick(rng, CATEGORIES)
        self.team = TEAM_OF[self.category]
        self.agent = rng.choice(AGENTS[self.team])
        self.priority = pick(rng, PRIORITIES)
        self.channel = pick(rng, CHANNELS)
        self.requester = f"customer-{rng.randrange(1, 50_000)}"
        local = created.replace(tzinfo=UTC).astimezone(model.zone)
        self.slow = 1.0 if staffed(local) else OFF_SHIFT_FACTOR
        self.messages = 0

    def events(self) -> list[tuple[datetime, dict[str, Any]]]:
        """The ticket's records in the order they happen."""
        rng, now = self.rng, self.created
        first_median = FIRST_REPLY_MEDIAN_S[self.priority] * self.slow
        customer = self._message(now, "customer", None, FIRST_MOODS)
        out = [(now, self._ticket(now, "new", None)), (now, customer)]

        now += _lognormal(rng, first_median)
        answer = self._message(now, "agent", customer["id"], None)
        out += [(now, answer), (now, self._ticket(now, "open", self.agent))]
        first_reply = now

        for _ in range(rng.choices((0, 1, 2), weights=(0.5, 0.35, 0.15))[0]):
            asked = now + _lognormal(rng, 2400)
            customer = self._message(asked, "customer", answer["id"], FOLLOW_UP_MOODS)
            now = asked + _lognormal(rng, first_median / 2)
            answer = self._message(now, "agent", customer["id"], None)
            out += [(asked, customer), (now, answer)]

        if rng.random() < RESOLVED_SHARE:
            now += _lognormal(rng, 3600)
            out.append((now, self._ticket(now, "solved", self.agent, resolved=now)))
            if rng.random() < RATED_SHARE:
                on_time = (first_reply - self.created).total_seconds() <= first_median
                scores = (5, 4, 3) if on_time else (1, 2, 3, 4)
                rated = now + _lognormal(rng, 7200)
                record = self._ticket(rated, "solved", self.agent, resolved=now)
                record["csat"] = rng.choice(scores)
                out.append((rated, record))
        return out

    def _ticket(
        self,
        at: datetime,
        status: str,
        agent: str | None,
        resolved: datetime | None = None,
    ) -> dict[str, Any]:
        return {
            "kind": "ticket",
            "id": self.id,
            "created_at": _iso(self.created),
            "updated_at": _iso(at),
            "status": status,
            "priority": self.priority,
            "channel": self.channel,
            "team": self.team,
            "agent": agent,
            "requester": self.requester,
            "category": self.category,
            "resolved_at": _iso(resolved) if resolved else None,
            "csat": None,
        }

    def _message(
        self,
        at: datetime,
        role: str,
        reply_to: str | None,
        moods: dict[str, float] | None,
    ) -> dict[str, Any]:
        self.messages += 1
        body = (
            customer_text(self.rng, self.category, moods)
            if moods is not None
            else agent_text(self.rng)
        )
        return {
            "kind": "message",
            "id": f"{self.id}-{self.messages}",
            "ticket_id": self.id,
            "created_at": _iso(at),
            "role": role,
            "author": self.requester if role == "customer" else self.agent,
            "reply_to": reply_to,
            "body": body,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
