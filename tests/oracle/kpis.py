"""The KPI figures of docs/metrics.md, computed from plain ticket records.

The readers (twcs_oracle, flat_oracle) turn a raw file into these records; this
module applies the window, the groups and the statistics, and returns the dict
that `supportpulse kpis --json` must print.
"""

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy

GroupBy = Literal["team"] | None

# First-response targets by lower-cased priority; no priority, or one missing
# here, counts as "normal" (docs/metrics.md, "What each figure counts").
SLA_TARGETS = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=4),
    "medium": timedelta(hours=4),
    "low": timedelta(hours=24),
}
NEGATIVE_COMPOUND = -0.05


@dataclass
class Message:
    """One utterance; `reply_s` is the reply-time sample this message starts."""

    created_at: datetime
    role: str
    sentiment: float | None = None
    reply_s: float | None = None


@dataclass
class Ticket:
    """One ticket with the fields the figures and `--by team` read."""

    created_at: datetime
    team: str | None
    first_response_at: datetime | None
    resolved_at: datetime | None = None
    priority: str | None = None
    csat: float | None = None
    messages: list[Message] = field(default_factory=list)

    def due_at(self) -> datetime:
        """When the first-response target for the ticket's priority falls due."""
        target = SLA_TARGETS.get(self.priority or "normal", SLA_TARGETS["normal"])
        return self.created_at + target


def expected_kpis(
    tickets: Sequence[Ticket], until: datetime, by: GroupBy = None
) -> dict[str, Any]:
    """The `kpis --json` document for a window from the first record to `until`."""
    groups: dict[str | None, list[Ticket]] = {}
    for ticket in tickets:
        key = ticket.team if by == "team" else None
        groups.setdefault(key, []).append(ticket)

    listed = []
    for key, members in groups.items():
        figures = _group_figures(members, until)
        if _is_listed(figures):
            listed.append(({} if by is None else {by: key}, figures))

    # Groups sort by their key values with nulls last.
    listed.sort(key=lambda item: [(v is None, v or "") for v in item[0].values()])
    return {"groups": [{"key": key, **figures} for key, figures in listed]}


def _group_figures(tickets: Sequence[Ticket], until: datetime) -> dict[str, Any]:
    created = [t for t in tickets if t.created_at < until]
    messages = [m for t in tickets for m in t.messages if m.created_at < until]
    customer = [m for m in messages if m.role == "customer"]
    due = [t for t in tickets if t.due_at() < until]
    # Backlog is a state at `until`: created before it and not resolved by it.
    backlog = [t for t in created if t.resolved_at is None or t.resolved_at >= until]
    scores = [m.sentiment for m in customer if m.sentiment is not None]
    ratings = [t.csat for t in created if t.csat is not None]

    return {
        "tickets": len(created),
        "messages": len(messages),
        "backlog": len(backlog),
        "first_response": _durations(
            _seconds(t.first_response_at, t.created_at)
            for t in created
            if t.first_response_at is not None
        ),
        "reply_time": _durations(m.reply_s for m in customer if m.reply_s is not None),
        "resolution": _durations(
            _seconds(t.resolved_at, t.created_at)
            for t in created
            if t.resolved_at is not None
        ),
        "sla": _sla(due),
        "sentiment": {
            "mean": statistics.fmean(scores) if scores else None,
            "negative_share": _share(s <= NEGATIVE_COMPOUND for s in scores),
        },
        "csat": {
            "count": len(ratings),
            "mean": statistics.fmean(ratings) if ratings else None,
        },
    }


def _is_listed(figures: dict[str, Any]) -> bool:
    counts = (figures["tickets"], figures["messages"], figures["sla"]["due"])
    return any(counts) or figures["backlog"] > 0


def _sla(due: Sequence[Ticket]) -> dict[str, Any]:
    # A response exactly at the due time meets the target: only later breaches.
    breached = [
        t
        for t in due
        if t.first_response_at is None or t.first_response_at > t.due_at()
    ]
    return {
        "due": len(due),
        "breached": len(breached),
        "rate": len(breached) / len(due) if due else None,
    }


def _durations(samples: Iterable[float]) -> dict[str, Any]:
    values = list(samples)
    if not values:
        return {"count": 0, "p50_s": None, "p90_s": None, "mean_s": None}

    # NumPy's default percentile is the linear interpolation the contract names.
    return {
        "count": len(values),
        "p50_s": float(numpy.percentile(values, 50)),
        "p90_s": float(numpy.percentile(values, 90)),
        "mean_s": statistics.fmean(values),
    }


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()
