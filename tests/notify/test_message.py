"""What notifications say."""

from __future__ import annotations

import json

from supportpulse.alerts.state import State
from supportpulse.notify.message import body, describe_group, payload, subject, summary
from supportpulse.notify.slack import slack_text

from .samples import transition


def test_payload_carries_the_transition_and_its_figures() -> None:
    document = payload(transition())

    assert document == {
        "version": 1,
        "id": 7,
        "rule": "frt",
        "group": {"team": "billing"},
        "state": "firing",
        "previous": "pending",
        "severity": "warning",
        "at": "2024-03-01T12:10:00Z",
        "kpi": "first_response.p90_s",
        "value": 4210.0,
        "op": ">",
        "threshold": 3600.0,
        "clear_threshold": 3000.0,
        "window_s": 3600.0,
        "error": None,
        "summary": summary(transition()),
    }


def test_body_is_compact_sorted_json_of_the_payload() -> None:
    content = body(transition())

    assert (
        content
        == json.dumps(
            payload(transition()), separators=(",", ":"), sort_keys=True
        ).encode()
    )
    assert content.startswith(b'{"at":"2024-03-01T12:10:00Z","clear_threshold":3000.0,')


def test_summary_reads_as_one_line() -> None:
    assert summary(transition()) == (
        "[warning] frt is firing for team=billing: first_response.p90_s = 4210 "
        "(fires when > 3600, over the last 1h)"
    )


def test_summary_of_missing_data_and_errors() -> None:
    text = summary(
        transition(state=State.ERROR, value=None, group={}, error="store query failed")
    )

    assert text == (
        "[warning] frt is error: first_response.p90_s = no data "
        "(fires when > 3600, over the last 1h); error: store query failed"
    )


def test_subject_and_slack_text_lead_with_the_state() -> None:
    resolved = transition(state=State.RESOLVED, previous=State.FIRING)

    assert subject(resolved) == "RESOLVED frt for team=billing"
    assert slack_text(resolved).startswith(
        ":white_check_mark: [warning] frt is resolved"
    )
    assert slack_text(transition()).startswith(":rotating_light: ")


def test_describe_group_names_missing_values() -> None:
    assert describe_group({}) == ""
    assert (
        describe_group({"team": None, "agent": "ann"}) == " for agent=ann, team=(none)"
    )
