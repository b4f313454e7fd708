"""The alert state machine for one (rule, group): pure, no I/O, no clock.

    ok ──condition──► pending ──held for `for`──► firing ──cleared──► resolved
     ▲                   │                          │                    │
     └────not held───────┘           (no `for`: ok goes straight to firing)
     ◄──────────────────── next evaluation, condition false ─────────────┘

A value of None is `no_data` and a failed evaluation is `error`, from any
state. A firing episode stays open through both (the next value decides
between firing and resolved); a pending one starts over. An episode is
open from pending until resolved; an acknowledgement lasts as long as it.

The condition to start is `value op threshold`; to resolve, the value must
cross strictly beyond `clear_at` (for op ">": value < clear_at). A value
sitting exactly on the threshold therefore neither fires a quiet rule nor
clears a firing one.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from supportpulse.alerts.rules import AlertRule, Op


class State(StrEnum):
    """Where one (rule, group) stands."""

    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    NO_DATA = "no_data"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Failure:
    """The KPI could not be computed; `reason` is safe to store and show."""

    reason: str


#: What one evaluation saw: a value, no data (None) or a failure.
Observation = float | None | Failure


@dataclass(frozen=True, slots=True)
class AlertState:
    """Everything the machine remembers between evaluations of one group."""

    state: State = State.OK
    #: When the current state was entered; None before the first evaluation.
    since: datetime | None = None
    value: float | None = None
    #: When the condition started to hold in the current episode.
    pending_since: datetime | None = None
    #: When the current episode started firing.
    fired_at: datetime | None = None
    acknowledged_at: datetime | None = None
    error: str | None = None

    @property
    def episode_open(self) -> bool:
        """Whether an alert is pending or has fired and not resolved yet."""
        return self.pending_since is not None or self.fired_at is not None


@dataclass(frozen=True, slots=True)
class Step:
    """One evaluation's effect: the state before and after, and whether it is news.

    `news` is true when a firing episode starts and when it resolves: the
    changes receivers are told of, before acknowledgements and silences.
    """

    before: AlertState
    after: AlertState
    news: bool

    @property
    def changed(self) -> bool:
        """Whether the state itself moved, which makes a history entry."""
        return self.before.state != self.after.state


_COMPARE: dict[Op, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def breaches(rule: AlertRule, value: float) -> bool:
    """Whether `value` meets the rule's firing condition."""
    return _COMPARE[rule.op](value, rule.threshold)


def cleared(rule: AlertRule, value: float) -> bool:
    """Whether `value` has crossed strictly back beyond the clear threshold."""
    return value < rule.clear_at if rule.upward else value > rule.clear_at


def advance(
    rule: AlertRule, before: AlertState, observed: Observation, now: datetime
) -> Step:
    """The state of one group after an evaluation at `now` saw `observed`."""
    after = _next(rule, before, observed, now)
    moved = after.state != before.state
    after = replace(after, since=now if moved or before.since is None else before.since)
    if not after.episode_open:
        after = replace(after, acknowledged_at=None)

    starts_firing = after.state is State.FIRING and before.fired_at is None
    news = moved and (starts_firing or after.state is State.RESOLVED)
    return Step(before, after, news)


def _next(
    rule: AlertRule, before: AlertState, observed: Observation, now: datetime
) -> AlertState:
    if isinstance(observed, Failure):
        return _hold(before, State.ERROR, observed.reason)
    if observed is None:
        return _hold(before, State.NO_DATA, None)

    value = float(observed)
    if before.fired_at is not None:
        if cleared(rule, value):
            return AlertState(State.RESOLVED, value=value)
        return replace(before, state=State.FIRING, value=value, error=None)
    if not breaches(rule, value):
        return AlertState(State.OK, value=value)

    started = before.pending_since if before.state is State.PENDING else None
    started = started or now
    pending = replace(
        before, state=State.PENDING, value=value, pending_since=started, error=None
    )
    if now - started >= rule.for_:
        return replace(pending, state=State.FIRING, fired_at=now)
    return pending


def _hold(before: AlertState, state: State, reason: str | None) -> AlertState:
    # Only a fired episode survives missing data; a pending one must begin again.
    if before.fired_at is None:
        return AlertState(state, error=reason)
    return replace(before, state=state, value=None, error=reason)
