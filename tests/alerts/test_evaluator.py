"""The evaluator over real stores, with time moved by an injected clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from supportpulse.alerts.evaluator import AlertEvaluator
from supportpulse.alerts.repository import AlertRepository
from supportpulse.alerts.state import State
from supportpulse.alerts.transition import Transition, group_key
from supportpulse.config import Settings
from supportpulse.errors import StoreError
from supportpulse.model import Batch
from supportpulse.store import Store

from .helpers import T0, Clock, customer_message, ticket, write_tickets

BUSY = {"name": "busy", "kpi": "tickets", "op": ">", "threshold": 3, "window": "1h"}


def settings(*rules: Mapping[str, Any]) -> Settings:
    return Settings.model_validate({"alerts": {"rules": list(rules)}})


def moves(transitions: list[Transition]) -> list[tuple[str, str, str, bool]]:
    return [(t.rule, t.previous.value, t.state.value, t.notify) for t in transitions]


class KPIFailingStore:
    """A store whose KPI query fails while `broken`, to reach the error state."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.broken = True
        self.kpi_queries = 0
        self.history_broken = False

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        if "percentile_cont" in sql:
            self.kpi_queries += 1
            if self.broken:
                raise StoreError("store query failed: relation is locked")
        return self.inner.fetch(sql, params)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        if self.history_broken and sql.startswith("INSERT INTO alert_history"):
            raise StoreError("store query failed: disk full")
        self.inner.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_rule_fires_resolves_and_records_history(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    evaluator = AlertEvaluator(store, settings(BUSY), clock)

    fired = evaluator.evaluate()
    clock.advance(hours=2)
    resolved = evaluator.evaluate()
    clock.advance(minutes=1)
    settled = evaluator.evaluate()

    assert moves(fired) == [("busy", "ok", "firing", True)]
    assert fired[0].value == 5.0
    assert fired[0].at == T0 + timedelta(minutes=10)
    assert fired[0].group == {}
    assert moves(resolved) == [("busy", "firing", "resolved", True)]
    assert resolved[0].value == 0.0
    assert moves(settled) == [("busy", "resolved", "ok", False)]

    history = AlertRepository(store).history()
    assert [(t.previous, t.state, t.value) for t in history] == [
        (State.RESOLVED, State.OK, 0.0),
        (State.FIRING, State.RESOLVED, 0.0),
        (State.OK, State.FIRING, 5.0),
    ]
    assert [t.id for t in reversed(history)] == [
        t.id for t in fired + resolved + settled
    ]
    assert history[2].threshold == 3.0
    assert history[2].window == timedelta(hours=1)
    assert history[2].kpi == "tickets"


def test_unchanged_state_adds_no_history(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    evaluator = AlertEvaluator(store, settings(BUSY), clock)

    evaluator.evaluate()
    clock.advance(minutes=1)
    again = evaluator.evaluate()

    assert again == []
    (row,) = AlertRepository(store).states()
    assert row.state.state is State.FIRING
    assert row.state.since == T0 + timedelta(minutes=10)
    assert row.evaluated_at == T0 + timedelta(minutes=11)


def test_for_keeps_the_alert_pending_until_it_has_held(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    evaluator = AlertEvaluator(store, settings({**BUSY, "for": "10m"}), clock)

    pending = evaluator.evaluate()
    clock.advance(minutes=9)
    waiting = evaluator.evaluate()
    clock.advance(minutes=1)
    firing = evaluator.evaluate()

    assert moves(pending) == [("busy", "ok", "pending", False)]
    assert waiting == []
    assert moves(firing) == [("busy", "pending", "firing", True)]


def test_grouped_rule_fires_per_group_and_forgets_quiet_ones(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    # Resolved tickets, so that no backlog keeps the groups listed.
    solved = T0 + timedelta(minutes=30)
    write_tickets(store, 5, T0, team="billing", resolved_at=solved)
    write_tickets(
        store, 1, T0 + timedelta(minutes=5), team="returns", resolved_at=solved
    )
    evaluator = AlertEvaluator(store, settings({**BUSY, "by": ["team"]}), clock)
    repository = AlertRepository(store)

    fired = evaluator.evaluate()
    groups = {row.group_key: row.state.state for row in repository.states()}
    clock.advance(hours=2)
    resolved = evaluator.evaluate()
    clock.advance(minutes=1)
    evaluator.evaluate()
    clock.advance(minutes=1)
    evaluator.evaluate()

    assert [(t.group, t.state) for t in fired] == [({"team": "billing"}, State.FIRING)]
    assert groups == {
        group_key({"team": "billing"}): State.FIRING,
        group_key({"team": "returns"}): State.OK,
    }
    assert [(t.group, t.state) for t in resolved] == [
        ({"team": "billing"}, State.RESOLVED)
    ]
    assert repository.states() == []


def test_acknowledgement_quiets_the_rest_of_the_episode(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    evaluator = AlertEvaluator(store, settings(BUSY), clock)
    repository = AlertRepository(store)

    evaluator.evaluate()
    acked = repository.acknowledge("busy", None, clock.advance(minutes=1))
    clock.advance(hours=2)
    resolved = evaluator.evaluate()
    write_tickets(store, 5, clock.now)
    clock.advance(minutes=10)
    fired_again = evaluator.evaluate()

    assert acked == ["{}"]
    assert moves(resolved) == [("busy", "firing", "resolved", False)]
    assert resolved[0].suppressed == "acknowledged"
    assert moves(fired_again) == [("busy", "resolved", "firing", True)]
    assert repository.history()[1].suppressed == "acknowledged"


def test_acknowledge_finds_nothing_when_all_is_well(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 1, T0)
    AlertEvaluator(store, settings(BUSY), clock).evaluate()

    assert AlertRepository(store).acknowledge("busy", None, clock()) == []
    assert AlertRepository(store).acknowledge("busy", "{}", clock()) == []


def test_silence_holds_back_news_until_it_ends(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0, team="billing")
    write_tickets(store, 5, T0, team="returns")
    evaluator = AlertEvaluator(store, settings({**BUSY, "by": ["team"]}), clock)
    repository = AlertRepository(store)
    repository.silence(
        "busy", group_key({"team": "billing"}), T0 + timedelta(hours=1), T0
    )

    fired = evaluator.evaluate()
    clock.advance(hours=2)
    resolved = evaluator.evaluate()

    assert [(t.group["team"], t.notify, t.suppressed) for t in fired] == [
        ("billing", False, "silenced"),
        ("returns", True, None),
    ]
    assert [(t.group["team"], t.notify) for t in resolved] == [
        ("billing", True),
        ("returns", True),
    ]


def test_silence_of_a_whole_rule_covers_every_group(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0, team="billing")
    write_tickets(store, 5, T0, team="returns")
    AlertRepository(store).silence("busy", None, T0 + timedelta(days=1), T0)

    fired = AlertEvaluator(store, settings({**BUSY, "by": ["team"]}), clock).evaluate()

    assert [(t.state, t.suppressed) for t in fired] == [
        (State.FIRING, "silenced"),
        (State.FIRING, "silenced"),
    ]


def test_kpi_without_data_is_no_data_until_it_has_some(store: Store) -> None:
    rule = {"name": "mood", "kpi": "sentiment.mean", "op": "<", "threshold": -0.2}
    clock = Clock(T0 + timedelta(minutes=10))
    evaluator = AlertEvaluator(store, settings(rule), clock)

    quiet = evaluator.evaluate()
    angry = ticket(1, clock.now)
    store.write(Batch(tickets=[angry], messages=[customer_message(1, angry, -0.6)]))
    clock.advance(minutes=1)
    fired = evaluator.evaluate()

    assert moves(quiet) == [("mood", "ok", "no_data", False)]
    assert quiet[0].value is None
    assert moves(fired) == [("mood", "no_data", "firing", True)]
    assert fired[0].value == pytest.approx(-0.6)


def test_failing_kpi_query_is_an_error_state(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    failing = KPIFailingStore(store)
    evaluator = AlertEvaluator(failing, settings(BUSY), clock)  # type: ignore[arg-type]

    broken = evaluator.evaluate()
    failing.broken = False
    clock.advance(minutes=1)
    recovered = evaluator.evaluate()

    assert moves(broken) == [("busy", "ok", "error", False)]
    assert broken[0].error == "store query failed: relation is locked"
    assert moves(recovered) == [("busy", "error", "firing", True)]
    assert AlertRepository(store).history()[1].error == broken[0].error


def test_rule_that_cannot_be_saved_makes_its_transition_next_time(
    store: Store,
) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    flaky = KPIFailingStore(store)
    flaky.broken = False
    flaky.history_broken = True
    rules = settings(BUSY, {**BUSY, "name": "calm", "threshold": 100})
    evaluator = AlertEvaluator(flaky, rules, clock)  # type: ignore[arg-type]

    lost = evaluator.evaluate()
    saved = {row.rule for row in AlertRepository(store).states()}
    flaky.history_broken = False
    clock.advance(minutes=1)
    retried = evaluator.evaluate()

    assert lost == []
    assert saved == {"calm"}
    assert moves(retried) == [("busy", "ok", "firing", True)]
    assert retried[0].at == T0 + timedelta(minutes=11)


def test_rules_with_the_same_window_and_groups_share_one_query(store: Store) -> None:
    counting = KPIFailingStore(store)
    counting.broken = False
    rules = settings(
        BUSY,
        {**BUSY, "name": "backlog", "kpi": "backlog"},
        {**BUSY, "name": "weekly", "window": "7d"},
    )

    AlertEvaluator(counting, rules, Clock()).evaluate()  # type: ignore[arg-type]

    assert counting.kpi_queries == 2


def test_states_of_rules_no_longer_configured_are_forgotten(store: Store) -> None:
    clock = Clock(T0 + timedelta(minutes=10))
    write_tickets(store, 5, T0)
    AlertEvaluator(store, settings(BUSY), clock).evaluate()

    AlertEvaluator(store, settings(), clock).evaluate()

    assert AlertRepository(store).states() == []
    assert len(AlertRepository(store).history()) == 1


def test_default_rules_evaluate_on_an_empty_store(store: Store) -> None:
    transitions = AlertEvaluator(store, Settings(), Clock()).evaluate()

    assert sorted(moves(transitions)) == [
        ("first-response-p90", "ok", "no_data", False),
        ("negative-sentiment", "ok", "no_data", False),
        ("sla-breach-rate", "ok", "no_data", False),
    ]
