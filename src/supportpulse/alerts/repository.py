"""Alert states, history and silences in the store (migration 0002_alerts)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from supportpulse.alerts.rules import Severity
from supportpulse.alerts.state import AlertState, State
from supportpulse.alerts.transition import Suppression, Transition
from supportpulse.store import Store

_STATE_COLUMNS = (
    "rule_name, group_key, state, since, kpi_value, pending_since, fired_at, "
    "acknowledged_at, error, evaluated_at"
)
_HISTORY_COLUMNS = (
    "id, rule_name, group_key, occurred_at, previous, state, kpi, kpi_value, op, "
    "threshold, clear_threshold, window_s, severity, notify, suppressed, error"
)


@dataclass(frozen=True, slots=True)
class StoredState:
    """One row of alert_state: a group's machine state and when it was evaluated."""

    rule: str
    group_key: str
    state: AlertState
    evaluated_at: datetime

    @property
    def group(self) -> dict[str, Any]:
        """The group's key as a mapping of dimension to value."""
        return cast(dict[str, Any], json.loads(self.group_key))


@dataclass(frozen=True, slots=True)
class Silence:
    """Notifications of a rule held back: one group, or all when `group_key` is None."""

    id: int
    rule: str
    group_key: str | None
    ends_at: datetime
    created_at: datetime

    def covers(self, rule: str, group_key: str, now: datetime) -> bool:
        """Whether this silence holds back news of `rule` for that group at `now`."""
        return (
            self.rule == rule
            and self.group_key in (None, group_key)
            and now < self.ends_at
        )


class AlertRepository:
    """Reads and writes the alert tables through one Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def states(self, rule: str | None = None) -> list[StoredState]:
        """Stored states, of one rule or all, ordered by rule and group."""
        where = "WHERE rule_name = :rule" if rule is not None else ""
        _, rows = self.store.fetch(
            f"SELECT {_STATE_COLUMNS} FROM alert_state {where} "
            "ORDER BY rule_name, group_key",
            {"rule": rule} if rule is not None else None,
        )
        return [_stored_state(row) for row in rows]

    def save_state(
        self, rule: str, key: str, state: AlertState, now: datetime, *, exists: bool
    ) -> None:
        """Insert or update one group's state, evaluated at `now`.

        An update leaves `acknowledged_at` alone unless the episode ended, so
        an acknowledgement given while an evaluation runs is not lost.
        """
        params = {
            "rule": rule,
            "key": key,
            "state": state.state.value,
            "since": state.since or now,
            "value": state.value,
            "pending_since": state.pending_since,
            "fired_at": state.fired_at,
            "acknowledged_at": state.acknowledged_at,
            "error": state.error,
            "now": now,
        }
        if not exists:
            self.store.execute(
                f"INSERT INTO alert_state ({_STATE_COLUMNS}) VALUES (:rule, :key, "
                ":state, :since, :value, :pending_since, :fired_at, "
                ":acknowledged_at, :error, :now)",
                params,
            )
            return

        forget_ack = ", acknowledged_at = NULL" if not state.episode_open else ""
        self.store.execute(
            "UPDATE alert_state SET state = :state, since = :since, "
            "kpi_value = :value, pending_since = :pending_since, "
            f"fired_at = :fired_at, error = :error, evaluated_at = :now{forget_ack} "
            "WHERE rule_name = :rule AND group_key = :key",
            {
                name: value
                for name, value in params.items()
                if name != "acknowledged_at"
            },
        )

    def forget(self, rule: str, key: str) -> None:
        """Drop one group's state, for a group that is quiet and gone."""
        self.store.execute(
            "DELETE FROM alert_state WHERE rule_name = :rule AND group_key = :key",
            {"rule": rule, "key": key},
        )

    def record(self, transition: Transition) -> int:
        """Append a transition to history; return its id."""
        _, rows = self.store.fetch("SELECT nextval('alert_history_id_seq')")
        history_id = int(rows[0][0])
        self.store.execute(
            f"INSERT INTO alert_history ({_HISTORY_COLUMNS}) VALUES (:id, :rule, "
            ":key, :at, :previous, :state, :kpi, :value, :op, :threshold, "
            ":clear_threshold, :window_s, :severity, :notify, :suppressed, :error)",
            {
                "id": history_id,
                "rule": transition.rule,
                "key": transition.group_key,
                "at": transition.at,
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
            },
        )
        return history_id

    def history(self, rule: str | None = None, limit: int = 50) -> list[Transition]:
        """The latest transitions, newest first, of one rule or all."""
        where = "WHERE rule_name = :rule" if rule is not None else ""
        params: dict[str, Any] = {"limit": limit}
        if rule is not None:
            params["rule"] = rule
        _, rows = self.store.fetch(
            f"SELECT {_HISTORY_COLUMNS} FROM alert_history {where} "
            "ORDER BY id DESC LIMIT :limit",
            params,
        )
        return [_transition(row) for row in rows]

    def acknowledge(self, rule: str, key: str | None, now: datetime) -> list[str]:
        """Acknowledge open episodes of a rule (one group, or every group);
        return the group keys acknowledged."""
        group_clause = "AND group_key = :key" if key is not None else ""
        params: dict[str, Any] = {"rule": rule, "now": now}
        if key is not None:
            params["key"] = key
        open_episode = (
            "(state IN ('pending', 'firing') OR pending_since IS NOT NULL "
            "OR fired_at IS NOT NULL)"
        )
        with self.store.transaction():
            _, rows = self.store.fetch(
                "SELECT group_key FROM alert_state WHERE rule_name = :rule "
                f"{group_clause} AND {open_episode} ORDER BY group_key",
                {name: value for name, value in params.items() if name != "now"},
            )
            self.store.execute(
                "UPDATE alert_state SET acknowledged_at = :now WHERE rule_name = :rule "
                f"{group_clause} AND {open_episode}",
                params,
            )
        return [str(row[0]) for row in rows]

    def silence(
        self, rule: str, key: str | None, ends_at: datetime, now: datetime
    ) -> int:
        """Hold back notifications of a rule (one group, or all) until `ends_at`."""
        _, rows = self.store.fetch("SELECT nextval('alert_silence_id_seq')")
        silence_id = int(rows[0][0])
        self.store.execute(
            "INSERT INTO alert_silence (id, rule_name, group_key, ends_at, created_at)"
            " VALUES (:id, :rule, :key, :ends_at, :now)",
            {
                "id": silence_id,
                "rule": rule,
                "key": key,
                "ends_at": ends_at,
                "now": now,
            },
        )
        return silence_id

    def silences(self, now: datetime) -> list[Silence]:
        """Silences still in force at `now`, soonest to end first."""
        _, rows = self.store.fetch(
            "SELECT id, rule_name, group_key, ends_at, created_at FROM alert_silence "
            "WHERE ends_at > :now ORDER BY ends_at, id",
            {"now": now},
        )
        return [
            Silence(int(row[0]), str(row[1]), row[2], row[3], row[4]) for row in rows
        ]


def suppression(
    state: AlertState,
    silences: list[Silence],
    rule: str,
    key: str,
    now: datetime,
) -> Suppression | None:
    """Why news of this group is held back, if it is."""
    if any(silence.covers(rule, key, now) for silence in silences):
        return "silenced"
    if state.acknowledged_at is not None:
        return "acknowledged"
    return None


def _stored_state(row: tuple[Any, ...]) -> StoredState:
    rule, key, state, since, value, pending, fired, acked, error, evaluated = row
    return StoredState(
        rule=rule,
        group_key=key,
        state=AlertState(
            state=State(state),
            since=since,
            value=value,
            pending_since=pending,
            fired_at=fired,
            acknowledged_at=acked,
            error=error,
        ),
        evaluated_at=evaluated,
    )


def _transition(row: tuple[Any, ...]) -> Transition:
    values: Mapping[str, Any] = dict(
        zip(_HISTORY_COLUMNS.split(", "), row, strict=True)
    )
    return Transition(
        id=int(values["id"]),
        rule=values["rule_name"],
        group=json.loads(values["group_key"]),
        previous=State(values["previous"]),
        state=State(values["state"]),
        at=values["occurred_at"],
        value=values["kpi_value"],
        kpi=values["kpi"],
        op=values["op"],
        threshold=values["threshold"],
        clear_threshold=values["clear_threshold"],
        window=timedelta(seconds=values["window_s"]),
        severity=cast(Severity, values["severity"]),
        notify=bool(values["notify"]),
        suppressed=values["suppressed"],
        error=values["error"],
    )
