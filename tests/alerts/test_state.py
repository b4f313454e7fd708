"""The alert state machine, case by case and under values hovering at the line."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportpulse.alerts.rules import AlertRule, default_rules
from supportpulse.alerts.state import (
    AlertState,
    Failure,
    Observation,
    State,
    advance,
    breaches,
    cleared,
)

T = datetime(2024, 3, 1, 12, 0)
MIN = timedelta(minutes=1)


def rule(**overrides: Any) -> AlertRule:
    fields: dict[str, Any] = {"name": "r", "kpi": "tickets", "op": ">", "threshold": 10}
    fields.update(overrides)
    return AlertRule.model_validate(fields)


OK = AlertState(State.OK, since=T - 10 * MIN, value=1.0)
PENDING = AlertState(
    State.PENDING, since=T - 3 * MIN, value=11.0, pending_since=T - 3 * MIN
)
FIRING = AlertState(
    State.FIRING,
    since=T - 5 * MIN,
    value=12.0,
    pending_since=T - 9 * MIN,
    fired_at=T - 5 * MIN,
)
FIRING_ACKED = AlertState(
    State.FIRING,
    since=T - 5 * MIN,
    value=12.0,
    pending_since=T - 5 * MIN,
    fired_at=T - 5 * MIN,
    acknowledged_at=T - MIN,
)
RESOLVED = AlertState(State.RESOLVED, since=T - MIN, value=3.0)
NO_DATA = AlertState(State.NO_DATA, since=T - MIN)
NO_DATA_FIRED = AlertState(
    State.NO_DATA, since=T - MIN, pending_since=T - 9 * MIN, fired_at=T - 5 * MIN
)
ERROR = AlertState(State.ERROR, since=T - MIN, error="store query failed")
ERROR_FIRED = AlertState(
    State.ERROR,
    since=T - MIN,
    fired_at=T - 5 * MIN,
    pending_since=T - 5 * MIN,
    error="x",
)
NEVER = AlertState()

FOR_5M = {"for": "5m"}
BAND = {"clear_threshold": 8}
BELOW = {"op": "<", "threshold": -0.2, "clear_threshold": -0.1}

# (case, rule overrides, state before, observation, state after, news)
CASES: list[tuple[str, dict[str, Any], AlertState, Observation, State, bool]] = [
    ("first evaluation below", {}, NEVER, 3.0, State.OK, False),
    ("first evaluation above fires", {}, NEVER, 11.0, State.FIRING, True),
    ("ok stays ok below", {}, OK, 9.99, State.OK, False),
    ("ok at the threshold with > stays ok", {}, OK, 10.0, State.OK, False),
    ("ok at the threshold with >= fires", {"op": ">="}, OK, 10.0, State.FIRING, True),
    ("ok above without for fires at once", {}, OK, 10.01, State.FIRING, True),
    ("ok above with for goes pending", FOR_5M, OK, 11.0, State.PENDING, False),
    ("pending before for elapsed stays pending", FOR_5M, PENDING, 11.0, State.PENDING, False),
    ("pending when for elapsed fires", {"for": "3m"}, PENDING, 11.0, State.FIRING, True),
    ("pending that stops holding goes ok", FOR_5M, PENDING, 10.0, State.OK, False),
    ("pending in the band still goes ok", {**FOR_5M, **BAND}, PENDING, 9.0, State.OK, False),
    ("pending without data goes no_data", FOR_5M, PENDING, None, State.NO_DATA, False),
    ("firing above stays firing", {}, FIRING, 50.0, State.FIRING, False),
    ("firing at the threshold stays firing", {}, FIRING, 10.0, State.FIRING, False),
    ("firing below the threshold resolves", {}, FIRING, 9.99, State.RESOLVED, True),
    ("firing in the band stays firing", BAND, FIRING, 9.0, State.FIRING, False),
    ("firing at the clear threshold stays firing", BAND, FIRING, 8.0, State.FIRING, False),
    ("firing beyond the clear threshold resolves", BAND, FIRING, 7.99, State.RESOLVED, True),
    ("firing without data holds as no_data", {}, FIRING, None, State.NO_DATA, False),
    ("firing on error holds as error", {}, FIRING, Failure("down"), State.ERROR, False),
    ("no_data of a fired episode back above fires quietly", {}, NO_DATA_FIRED, 11.0,
     State.FIRING, False),
    ("no_data of a fired episode cleared resolves", {}, NO_DATA_FIRED, 5.0, State.RESOLVED,
     True),
    ("no_data of a fired episode in the band fires quietly", BAND, NO_DATA_FIRED, 9.0,
     State.FIRING, False),
    ("no_data stays no_data", {}, NO_DATA, None, State.NO_DATA, False),
    ("no_data above fires", {}, NO_DATA, 11.0, State.FIRING, True),
    ("no_data below goes ok", {}, NO_DATA, 1.0, State.OK, False),
    ("error above with for goes pending", FOR_5M, ERROR, 11.0, State.PENDING, False),
    ("error of a fired episode resolves when cleared", {}, ERROR_FIRED, 1.0,
     State.RESOLVED, True),
    ("error stays error", {}, ERROR, Failure("again"), State.ERROR, False),
    ("ok on error goes error", {}, OK, Failure("store query failed"), State.ERROR, False),
    ("ok without data goes no_data", {}, OK, None, State.NO_DATA, False),
    ("resolved below goes ok", {}, RESOLVED, 3.0, State.OK, False),
    ("resolved above fires again", {}, RESOLVED, 11.0, State.FIRING, True),
    ("resolved above with for goes pending", FOR_5M, RESOLVED, 11.0, State.PENDING, False),
    ("low rule fires below", BELOW, OK, -0.3, State.FIRING, True),
    ("low rule at its threshold stays ok", BELOW, OK, -0.2, State.OK, False),
    ("low rule in the band stays firing", BELOW, FIRING, -0.15, State.FIRING, False),
    ("low rule at the clear threshold stays firing", BELOW, FIRING, -0.1, State.FIRING,
     False),
    ("low rule beyond the clear threshold resolves", BELOW, FIRING, -0.05,
     State.RESOLVED, True),
    ("<= fires at the threshold", {"op": "<=", "threshold": 0.5}, OK, 0.5, State.FIRING,
     True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "before", "observed", "expected", "news"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_advance_moves_state_as_specified(
    overrides: dict[str, Any],
    before: AlertState,
    observed: Observation,
    expected: State,
    news: bool,
) -> None:
    step = advance(rule(**overrides), before, observed, T)

    assert step.after.state is expected
    assert step.news is news
    assert step.changed is (before.state is not expected)


def test_advance_keeps_since_while_the_state_holds() -> None:
    step = advance(rule(), FIRING, 40.0, T)

    assert step.after.since == FIRING.since
    assert step.after.value == 40.0


def test_advance_sets_since_on_a_change() -> None:
    step = advance(rule(), FIRING, 1.0, T)

    assert step.after.since == T
    assert step.after.fired_at is None
    assert step.after.pending_since is None


def test_advance_stamps_first_evaluation() -> None:
    step = advance(rule(), NEVER, 1.0, T)

    assert step.after.since == T
    assert not step.changed


def test_pending_counts_for_from_the_first_breach() -> None:
    r = rule(**FOR_5M)
    states = [NEVER]
    for minute in range(7):
        states.append(advance(r, states[-1], 11.0, T + minute * MIN).after)

    assert [s.state for s in states[1:]] == [State.PENDING] * 5 + [State.FIRING] * 2
    assert all(s.pending_since == T for s in states[1:])
    assert states[6].fired_at == T + 5 * MIN


def test_pending_starts_over_after_missing_data() -> None:
    r = rule(**FOR_5M)
    gap = advance(r, PENDING, None, T).after
    again = advance(r, gap, 11.0, T + MIN).after

    assert again.state is State.PENDING
    assert again.pending_since == T + MIN


def test_firing_episode_survives_missing_data_and_errors() -> None:
    r = rule()
    quiet = advance(r, FIRING, None, T).after
    broken = advance(r, quiet, Failure("down"), T + MIN).after
    back = advance(r, broken, 12.0, T + 2 * MIN)

    assert back.after.state is State.FIRING
    assert back.after.fired_at == FIRING.fired_at
    assert not back.news


def test_error_carries_its_reason_and_clears_on_data() -> None:
    r = rule()
    failed = advance(r, OK, Failure("store query failed: x"), T).after
    recovered = advance(r, failed, 1.0, T + MIN).after

    assert failed.error == "store query failed: x"
    assert recovered.error is None


def test_acknowledgement_lasts_as_long_as_the_episode() -> None:
    r = rule()
    still = advance(r, FIRING_ACKED, 20.0, T).after
    gone = advance(r, still, 1.0, T + MIN).after

    assert still.acknowledged_at == FIRING_ACKED.acknowledged_at
    assert gone.state is State.RESOLVED
    assert gone.acknowledged_at is None


def test_value_sitting_on_the_threshold_never_flaps() -> None:
    r = rule()
    state = advance(r, NEVER, 11.0, T).after
    changes = 0
    for minute in range(1, 200):
        step = advance(r, state, 10.0, T + minute * MIN)
        changes += step.changed
        state = step.after

    assert state.state is State.FIRING
    assert changes == 0


def test_noise_around_the_threshold_does_not_flap_with_a_band() -> None:
    r = rule(clear_threshold=9.5)
    values = [10.3, 9.7, 10.2, 9.6, 10.4, 9.51, 10.0, 9.9] * 20
    state = AlertState()
    news = []
    for minute, value in enumerate(values):
        step = advance(r, state, value, T + minute * MIN)
        news += [step.after.state] if step.news else []
        state = step.after

    assert news == [State.FIRING]


@given(
    start_firing=st.booleans(),
    values=st.lists(st.floats(min_value=8.0, max_value=10.0), min_size=1, max_size=60),
)
def test_values_inside_the_band_never_change_state(
    start_firing: bool, values: list[float]
) -> None:
    r = rule(clear_threshold=8.0)
    state = FIRING if start_firing else OK
    for minute, value in enumerate(values):
        step = advance(r, state, value, T + minute * MIN)
        assert not step.changed
        state = step.after


@given(values=st.lists(st.floats(min_value=0, max_value=20), min_size=1, max_size=80))
def test_news_alternates_between_firing_and_resolved(values: list[float]) -> None:
    r = rule(clear_threshold=8.0, **{"for": "2m"})
    state = AlertState()
    news: list[State] = []
    for minute, value in enumerate(values):
        step = advance(r, state, value, T + minute * MIN)
        if step.news:
            news.append(step.after.state)
        state = step.after

    assert news[::2] == [State.FIRING] * len(news[::2])
    assert news[1::2] == [State.RESOLVED] * len(news[1::2])


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [(">", 10.0, False), (">", 10.5, True), (">=", 10.0, True), ("<", 10.0, False),
     ("<", 9.5, True), ("<=", 10.0, True)],
)  # fmt: skip
def test_breaches_compares_by_op(op: str, value: float, expected: bool) -> None:
    assert breaches(rule(op=op), value) is expected


@pytest.mark.parametrize(
    ("op", "clear", "value", "expected"),
    [(">", None, 10.0, False), (">", None, 9.9, True), (">", 8.0, 8.0, False),
     ("<", None, 10.0, False), ("<", None, 10.1, True), ("<=", 12.0, 12.5, True)],
)  # fmt: skip
def test_cleared_needs_a_strict_crossing(
    op: str, clear: float | None, value: float, expected: bool
) -> None:
    assert cleared(rule(op=op, clear_threshold=clear), value) is expected


@pytest.mark.parametrize(
    ("name", "firing_at", "near_the_line", "well_past"),
    [("first-response-p90", 3700.0, 3500.0, 2900.0),
     ("sla-breach-rate", 0.11, 0.095, 0.07),
     ("negative-sentiment", -0.25, -0.18, -0.1)],
)  # fmt: skip
def test_default_rules_clear_only_a_margin_past_their_threshold(
    name: str, firing_at: float, near_the_line: float, well_past: float
) -> None:
    (default,) = [r for r in default_rules() if r.name == name]

    assert breaches(default, firing_at)
    assert not breaches(default, near_the_line)
    assert not cleared(default, near_the_line)
    assert cleared(default, well_past)
