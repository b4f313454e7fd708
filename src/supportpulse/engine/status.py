"""What each running source is doing, for `supportpulse status` and the API."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from supportpulse.logs import redact


class SourceState(StrEnum):
    """The states a source moves through."""

    starting = "starting"
    live = "live"
    degraded = "degraded"
    backing_off = "backing off"
    failed = "failed"
    paused = "paused"
    stopped = "stopped"


#: How far back the record rate looks.
RATE_WINDOW_S = 60.0
#: A source that failed within this many seconds but delivers again is
#: degraded rather than live: it works, but not reliably.
DEGRADED_FOR_S = 300.0


@dataclass
class SourceStatus:
    """One source's state, progress and last problem."""

    name: str
    type: str
    state: SourceState = SourceState.starting
    last_success: datetime | None = None
    last_error: str | None = None
    newest_record: datetime | None = None
    records: int = 0
    failures: int = 0
    #: Failures after which the source was scheduled to try again.
    retries: int = 0
    last_failure: datetime | None = None
    #: When a poll last found nothing more to read: the data was complete then.
    caught_up_at: datetime | None = None
    _recent: deque[tuple[datetime, int]] = field(default_factory=deque, repr=False)

    def delivered(self, count: int, newest: datetime | None, now: datetime) -> None:
        """Count records committed to the store."""
        self.records += count
        self.last_success = now
        if newest is not None and newest.tzinfo is not None:
            # Status times are naive UTC; a source may hand over an aware one.
            newest = newest.astimezone(UTC).replace(tzinfo=None)
        if newest is not None and (
            self.newest_record is None or newest > self.newest_record
        ):
            self.newest_record = newest
        self._recent.append((now, count))
        while (
            self._recent and (now - self._recent[0][0]).total_seconds() > RATE_WINDOW_S
        ):
            self._recent.popleft()

    def polled(self, now: datetime, caught_up: bool) -> None:
        """A poll succeeded; `caught_up` when the source had nothing more."""
        self.last_success = now
        if caught_up:
            self.caught_up_at = now

    def failed(self, error: BaseException, now: datetime) -> None:
        """Remember the latest problem, with any password in it masked."""
        self.failures += 1
        self.last_failure = now
        self.last_error = redact(f"{type(error).__name__}: {error}")[:500]

    def working(self, now: datetime) -> SourceState:
        """The state of a source that just delivered: live, or degraded when
        it failed recently."""
        recent = self.last_failure is not None and (
            (now - self.last_failure).total_seconds() < DEGRADED_FOR_S
        )
        return SourceState.degraded if recent else SourceState.live

    def rate(self, now: datetime) -> float:
        """Records per second over the last minute."""
        recent = sum(
            count
            for at, count in self._recent
            if (now - at).total_seconds() <= RATE_WINDOW_S
        )
        return recent / RATE_WINDOW_S

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """A JSON-ready view with lag and rate worked out at `now`."""
        # How old the view of the source may be: up to its newest record, or
        # up to the last poll that found nothing more, whichever is later.
        known = max(
            (moment for moment in (self.newest_record, self.caught_up_at) if moment),
            default=None,
        )
        lag = max(0.0, (now - known).total_seconds()) if known else None
        return {
            "name": self.name,
            "type": self.type,
            "state": self.state.value,
            "last_success": _iso(self.last_success),
            "last_error": self.last_error,
            "newest_record": _iso(self.newest_record),
            "lag_s": lag,
            "records": self.records,
            "rate_per_s": round(self.rate(now), 3),
            "errors": self.failures,
            "retries": self.retries,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"
