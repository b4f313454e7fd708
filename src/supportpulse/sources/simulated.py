"""The simulated help desk as a live push source, paced in event time.

The event clock starts at `start` (by default `history` before now) and runs
`speed` times faster than the wall clock until it catches up with now; from
then on records arrive in real time. So a demo shows hours of history within a
minute and then stays live. The cursor is the simulation's start and the
number of records delivered, so a restart continues exactly where the store's
data ends, and the same seed always gives the same records.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from supportpulse.alerts.durations import Duration
from supportpulse.analytics.sentiment import sentiment
from supportpulse.config import Settings
from supportpulse.model import Batch, Message, Ticket
from supportpulse.simulation import Event, HelpdeskModel, timeline
from supportpulse.sources.base import Cursor, Page, PushSource, SourceOptions

#: At most this many records per page, so a long catch-up is written in steps.
PAGE_RECORDS = 1000
#: The longest single sleep, so a changed wall clock is noticed soon.
MAX_SLEEP_S = 5.0


class SimulatedOptions(SourceOptions):
    """Which help desk to simulate, from when, and how fast."""

    seed: int = 1
    per_hour: float = Field(default=12.0, gt=0, le=10_000)
    #: Event seconds per wall-clock second while catching up; 0 is at once.
    speed: float = Field(default=600.0, ge=0)
    #: First event time (UTC); default: `history` before the source starts.
    start: datetime | None = None
    history: Duration = timedelta(hours=6)
    #: No events from this time (UTC) on; default: endless.
    until: datetime | None = None
    record_source: str = "simulated"


class SimulatedSource(PushSource):
    """Streams a deterministic simulated help desk's tickets and messages."""

    options_model = SimulatedOptions

    def __init__(
        self, name: str, options: SimulatedOptions, settings: Settings
    ) -> None:
        super().__init__(name, options, settings)
        self.simulation = options
        self.model = HelpdeskModel(
            seed=options.seed, per_hour=options.per_hour, zone=settings.zone
        )

    def first_event_time(self, cursor: Cursor | None) -> datetime:
        """Where the simulated time starts: the cursor's, else the option's."""
        if cursor and "start" in cursor:
            return datetime.fromisoformat(cursor["start"])
        if self.simulation.start is not None:
            return _naive_utc(self.simulation.start)
        return _utc_now().replace(microsecond=0) - self.simulation.history

    async def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        start = self.first_event_time(cursor)
        delivered = int((cursor or {}).get("delivered", 0))
        until = _naive_utc(self.simulation.until) if self.simulation.until else None
        events = timeline(self.model, start, until)
        upcoming = next(itertools.islice(events, delivered, None), None)
        if upcoming is None:
            return

        clock = _EventClock(upcoming.at, self.simulation.speed)
        while upcoming is not None:
            page: list[Event] = []
            horizon = clock.now()
            while upcoming is not None and upcoming.at <= horizon:
                page.append(upcoming)
                upcoming = next(events, None)
                if len(page) == PAGE_RECORDS:
                    break
            if not page:
                assert upcoming is not None
                await asyncio.sleep(clock.wait_s(upcoming.at))
                continue

            delivered += len(page)
            yield Page(
                records=[event.record for event in page],
                cursor={"start": start.isoformat(), "delivered": delivered},
                newest=page[-1].at,
            )

    def normalize(self, page: Page) -> Batch:
        batch = Batch()
        for record in page.records:
            if record["kind"] == "ticket":
                batch.tickets.append(self._ticket(record))
            else:
                batch.messages.append(self._message(record))
        return batch

    def _ticket(self, record: dict[str, Any]) -> Ticket:
        resolved = record["resolved_at"]
        return Ticket(
            source=self.simulation.record_source,
            external_id=record["id"],
            created_at=datetime.fromisoformat(record["created_at"]),
            updated_at=datetime.fromisoformat(record["updated_at"]),
            status=record["status"],
            priority=record["priority"],
            channel=record["channel"],
            team=record["team"],
            agent=record["agent"],
            requester=record["requester"],
            category=record["category"],
            resolved_at=datetime.fromisoformat(resolved) if resolved else None,
            csat=record["csat"],
            raw=record,
        )

    def _message(self, record: dict[str, Any]) -> Message:
        created = datetime.fromisoformat(record["created_at"])
        customer = record["role"] == "customer"
        return Message(
            source=self.simulation.record_source,
            external_id=record["id"],
            ticket_external_id=record["ticket_id"],
            created_at=created,
            updated_at=created,
            author_role=record["role"],
            author_id=record["author"],
            reply_to=record["reply_to"],
            body=record["body"],
            sentiment=sentiment(record["body"]) if customer else None,
        )


class _EventClock:
    """Simulated time: `speed` times the wall clock, never ahead of now."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self.started = time.monotonic()

    def now(self) -> datetime:
        """The event time reached; records up to it are due."""
        wall = _utc_now()
        if self.speed == 0:
            return wall
        elapsed = (time.monotonic() - self.started) * self.speed
        return min(wall, self.start + timedelta(seconds=elapsed))

    def wait_s(self, at: datetime) -> float:
        """How long until an event at `at` is due."""
        wall_wait = (at - _utc_now()).total_seconds()
        paced_wait = 0.0
        if self.speed:
            offset = (at - self.start).total_seconds() / self.speed
            paced_wait = offset - (time.monotonic() - self.started)
        return min(MAX_SLEEP_S, max(0.001, wall_wait, paced_wait))


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
