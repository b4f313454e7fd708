"""Evaluating every alert rule against the store at the clock's time.

The engine calls `AlertEvaluator.evaluate()` on its schedule and hands the
transitions to a `Notifier`. Everything here is synchronous and uses the one
Store connection it is given, so run it where that connection lives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from supportpulse.alerts.repository import (
    AlertRepository,
    Silence,
    StoredState,
    suppression,
)
from supportpulse.alerts.rules import COUNT_KPIS, AlertRule
from supportpulse.alerts.state import (
    AlertState,
    Failure,
    Observation,
    State,
    Step,
    advance,
)
from supportpulse.alerts.transition import Suppression, Transition, group_key
from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings
from supportpulse.errors import StoreError
from supportpulse.store import Store

log = structlog.get_logger("supportpulse.alerts")

#: A callable returning the current time as a naive datetime holding UTC.
Clock = Callable[[], datetime]
#: One rule's KPI groups by canonical key, or why they could not be computed.
Groups = dict[str, dict[str, Any]] | Failure

_WHOLE = group_key({})


def utc_now() -> datetime:
    """The current time as a naive datetime holding UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def kpi_value(group: dict[str, Any], path: str) -> float | None:
    """The value at a dotted KPI path of one `compute_kpis` group, or None."""
    node: Any = group
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return float(node)


class AlertEvaluator:
    """Moves every (rule, group) through the state machine and records it."""

    def __init__(
        self, store: Store, settings: Settings, clock: Clock = utc_now
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.repository = AlertRepository(store)

    def evaluate(self) -> list[Transition]:
        """Evaluate every configured rule at `clock()`; return the transitions.

        States and transitions are stored, one transaction per rule. A rule
        whose KPI query fails moves its groups to `error`; a rule whose
        states cannot be saved is skipped whole, so the next evaluation
        makes the same transitions again. Either way the other rules go on.
        Raises StoreError only when the alert tables cannot be read at all.
        """
        now = self.clock()
        silences = self.repository.silences(now)
        stored = self._stored_by_rule()
        computed: dict[tuple[timedelta, tuple[str, ...]], Groups] = {}
        transitions: list[Transition] = []

        for rule in self.settings.alerts.rules:
            # Rules sharing a window and grouping share one KPI query.
            query_key = (rule.window, tuple(rule.by))
            if query_key not in computed:
                computed[query_key] = self._groups(rule, now)
            known = stored.pop(rule.name, {})
            observed = observations(rule, computed[query_key], known)
            try:
                made = self._apply(rule, observed, known, silences, now)
            except StoreError as exc:
                log.warning(
                    "alert_rule_not_saved", rule=rule.name, error=type(exc).__name__
                )
                continue
            for transition in made:
                _log_transition(transition)
            transitions.extend(made)

        self._forget_unconfigured(stored)
        return transitions

    def _apply(
        self,
        rule: AlertRule,
        observed: dict[str, Observation],
        known: dict[str, StoredState],
        silences: list[Silence],
        now: datetime,
    ) -> list[Transition]:
        """Advance and save one rule's groups in one transaction."""
        made = []
        with self.store.transaction():
            for key, observation in observed.items():
                step = advance(rule, _state(known.get(key)), observation, now)
                self.repository.save_state(
                    rule.name, key, step.after, now, exists=key in known
                )
                if step.changed:
                    held = suppression(step.before, silences, rule.name, key, now)
                    transition = _transition(rule, key, step, now, held)
                    made.append(
                        replace(transition, id=self.repository.record(transition))
                    )
            for key in known.keys() - observed.keys():
                self.repository.forget(rule.name, key)
        return made

    def _stored_by_rule(self) -> dict[str, dict[str, StoredState]]:
        by_rule: dict[str, dict[str, StoredState]] = {}
        for row in self.repository.states():
            by_rule.setdefault(row.rule, {})[row.group_key] = row
        return by_rule

    def _groups(self, rule: AlertRule, now: datetime) -> Groups:
        query = KPIQuery(since=now - rule.window, until=now, by=tuple(rule.by))
        try:
            document = compute_kpis(self.store, query, self.settings.sla, now=now)
        except StoreError as exc:
            log.warning("alert_rule_failed", rule=rule.name, error=type(exc).__name__)
            return Failure(str(exc).strip().splitlines()[0][:200])
        return {group_key(group["key"]): group for group in document["groups"]}

    def _forget_unconfigured(self, stored: dict[str, dict[str, StoredState]]) -> None:
        # States of rules removed from the config would otherwise be listed forever.
        if not stored:
            return
        try:
            with self.store.transaction():
                for rule_name, rows in stored.items():
                    for key in rows:
                        self.repository.forget(rule_name, key)
        except StoreError as exc:
            # Harmless to leave for the next evaluation; the transitions are saved.
            log.warning("alert_states_not_forgotten", error=type(exc).__name__)
            return
        log.info("alert_states_forgotten", rules=sorted(stored))


def observations(
    rule: AlertRule, groups: Groups, known: dict[str, StoredState]
) -> dict[str, Observation]:
    """What one evaluation saw for each group of a rule.

    Every group with data is observed, and so are known groups that have
    none now unless they are quiet (then they are forgotten). Counting KPIs
    are 0 for a group without rows; other KPIs are no data. An ungrouped
    rule always observes its one group, `{}`.
    """
    dims = set(rule.by)
    current = {key for key in known if set(json.loads(key)) == dims}
    if isinstance(groups, Failure):
        keys = current | ({_WHOLE} if not rule.by else set())
        return dict.fromkeys(sorted(keys), groups)

    absent: float | None = 0.0 if rule.kpi in COUNT_KPIS else None
    seen: dict[str, Observation] = {
        key: kpi_value(group, rule.kpi) for key, group in groups.items()
    }
    if not rule.by:
        return {_WHOLE: seen.get(_WHOLE, absent)}
    for key in sorted(current - seen.keys()):
        if not _quiet(known[key].state):
            seen[key] = absent
    return seen


def _quiet(state: AlertState) -> bool:
    # Nothing to tell about a group that was fine, or already had no data.
    return state.state is State.OK or (
        state.state is State.NO_DATA and not state.episode_open
    )


def _log_transition(transition: Transition) -> None:
    log.info(
        "alert_transition",
        rule=transition.rule,
        group=transition.group_key,
        previous=transition.previous.value,
        state=transition.state.value,
        value=transition.value,
        notify=transition.notify,
        suppressed=transition.suppressed,
        history_id=transition.id,
    )


def _state(stored: StoredState | None) -> AlertState:
    return stored.state if stored is not None else AlertState()


def _transition(
    rule: AlertRule,
    key: str,
    step: Step,
    now: datetime,
    held: Suppression | None,
) -> Transition:
    suppressed = held if step.news else None
    return Transition(
        rule=rule.name,
        group=json.loads(key),
        previous=step.before.state,
        state=step.after.state,
        at=now,
        value=step.after.value,
        kpi=rule.kpi,
        op=rule.op,
        threshold=rule.threshold,
        clear_threshold=rule.clear_at,
        window=rule.window,
        severity=rule.severity,
        notify=step.news and suppressed is None,
        suppressed=suppressed,
        error=step.after.error,
    )
