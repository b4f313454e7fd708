"""Alert states and transitions as JSON documents, for `--json` output and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from supportpulse.alerts.repository import Silence, StoredState
from supportpulse.alerts.transition import Transition


def silenced_until(
    silences: list[Silence], rule: str, key: str, now: datetime
) -> datetime | None:
    """When the last silence covering this (rule, group) at `now` ends, if any."""
    ends = [s.ends_at for s in silences if s.covers(rule, key, now)]
    return max(ends) if ends else None


def state_view(
    row: StoredState, silences: list[Silence], now: datetime
) -> dict[str, Any]:
    """One group's current alert state."""
    state = row.state
    silenced = silenced_until(silences, row.rule, row.group_key, now)
    return {
        "rule": row.rule,
        "group": row.group,
        "state": state.state.value,
        "since": iso(state.since),
        "value": state.value,
        "pending_since": iso(state.pending_since),
        "fired_at": iso(state.fired_at),
        "acknowledged_at": iso(state.acknowledged_at),
        "silenced_until": iso(silenced),
        "error": state.error,
        "evaluated_at": iso(row.evaluated_at),
    }


def transition_view(transition: Transition) -> dict[str, Any]:
    """One recorded state change with the figures behind it."""
    return {
        "id": transition.id,
        "rule": transition.rule,
        "group": dict(transition.group),
        "at": iso(transition.at),
        "previous": transition.previous.value,
        "state": transition.state.value,
        "kpi": transition.kpi,
        "value": transition.value,
        "op": transition.op,
        "threshold": transition.threshold,
        "clear_threshold": transition.clear_threshold,
        "window_s": transition.window.total_seconds(),
        "severity": transition.severity,
        "notify": transition.notify,
        "suppressed": transition.suppressed,
        "error": transition.error,
    }


def iso(moment: datetime | None) -> str | None:
    """A naive UTC time as ISO 8601 with a Z, or None."""
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds") + "Z"
