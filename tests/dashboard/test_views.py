"""Panel logic: formatting, changes, forms and ordering, without a page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from supportpulse.dashboard import views


def _document(**figures: Any) -> dict[str, Any]:
    return {"groups": [{"key": {}, **figures}]}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (89, "89 s"), (90, "2 min"), (5399, "90 min"), (5400, "1.5 h"),
     (172_799, "48.0 h"), (172_800, "2.0 d")],
)  # fmt: skip
def test_format_duration_picks_the_unit_a_person_reads(
    seconds: float, text: str
) -> None:
    assert views.format_duration(seconds) == text


def test_tiles_show_each_kpi_and_its_change_against_the_previous_window() -> None:
    current = _document(
        tickets=120, backlog=30, first_response={"p50_s": 600.0, "p90_s": None},
        sla={"rate": 0.25}, csat={"mean": 4.5}, sentiment={"mean": -0.1},
    )  # fmt: skip
    previous = _document(
        tickets=100, backlog=40, first_response={"p50_s": 900.0},
        sla={"rate": 0.2}, csat={"mean": 4.0}, sentiment={"mean": 0.05},
    )  # fmt: skip

    tiles = {tile.label: tile for tile in views.tiles(current, previous)}

    assert (tiles["Volume"].value, tiles["Volume"].delta) == ("120", "+20")
    assert tiles["Volume"].delta_color == "off"
    assert (tiles["Backlog"].delta, tiles["Backlog"].delta_color) == ("-10", "inverse")
    assert (tiles["First response p50"].value, tiles["First response p50"].delta) == (
        "10 min", "-5 min"
    )  # fmt: skip
    assert (tiles["First response p90"].value, tiles["First response p90"].delta) == (
        "—", None
    )  # fmt: skip
    assert (tiles["SLA breach rate"].value, tiles["SLA breach rate"].delta) == (
        "25.0 %", "+5.0 pp"
    )  # fmt: skip
    assert (tiles["CSAT"].delta, tiles["CSAT"].delta_color) == ("+0.50", "normal")
    assert tiles["Sentiment"].value == "-0.10"


def test_tiles_of_an_empty_window_count_zero_and_show_no_change_without_a_previous() -> (
    None
):
    tiles = {tile.label: tile for tile in views.tiles({"groups": []}, None)}

    assert tiles["Volume"].value == "0"
    assert tiles["Resolution p50"].value == "—"
    assert all(tile.delta is None for tile in tiles.values())


def test_bounds_put_the_previous_window_right_before_the_current_one() -> None:
    now = datetime(2024, 5, 1, 12, 0, 30, 999)

    day = views.bounds(views.window_of("24h"), now)
    whole = views.bounds(views.window_of("all"), now)

    assert (day.since, day.until) == ("2024-04-30T12:00:30Z", "2024-05-01T12:00:30Z")
    assert (day.previous_since, day.previous_until) == (
        "2024-04-29T12:00:30Z", "2024-04-30T12:00:30Z"
    )  # fmt: skip
    assert (whole.since, whole.previous_until) == (None, None)
    assert views.window_of("no-such-window").length == timedelta(hours=24)


def test_breakdown_rows_put_the_busiest_first_and_name_missing_values() -> None:
    document = {
        "groups": [
            {"key": {"team": "billing"}, "tickets": 3, "backlog": 1},
            {"key": {"team": None}, "tickets": 9, "backlog": 0},
            {"key": {"team": "orders"}, "tickets": 5, "backlog": 2},
        ]
    }

    rows = views.breakdown_rows(document, "team")

    assert [row["team"] for row in rows] == ["(none)", "orders", "billing"]
    assert views.filter_values(document, "team") == ["billing", "orders"]


def test_source_document_builds_settings_and_nests_the_secret() -> None:
    document = views.source_document(
        " desk ", "rest", "30s", "url: http://127.0.0.1:9000/tickets\nheaders: {}",
        "headers.Authorization", "Bearer s3cret",
    )  # fmt: skip

    assert document == {
        "name": "desk",
        "type": "rest",
        "interval": "30s",
        "options": {
            "url": "http://127.0.0.1:9000/tickets",
            "headers": {"Authorization": "Bearer s3cret"},
        },
    }


@pytest.mark.parametrize(
    ("name", "options", "secret", "problem"),
    [
        ("bad name", "", "", "name:"),
        ("desk", "url: [unclosed", "", "options: not valid YAML (line 1)"),
        ("desk", "- a list", "", "options: write a mapping"),
        ("desk", "url: x", "url.token", "secret option name: 'url'"),
    ],
)
def test_source_document_names_the_field_it_rejects(
    name: str, options: str, secret: str, problem: str
) -> None:
    with pytest.raises(views.FormError) as caught:
        views.source_document(name, "rest", "", options, secret, "value")

    assert str(caught.value).startswith(problem)


def test_alert_rows_put_firing_first_and_list_unacknowledged_groups() -> None:
    alerts = [
        {"rule": "a-ok", "group": {}, "state": "ok"},
        {"rule": "z-firing", "group": {"team": "billing"}, "state": "firing"},
        {"rule": "b-firing", "group": {}, "state": "firing", "acknowledged_at": "x"},
        {"rule": "c-pending", "group": {}, "state": "pending"},
    ]

    rows = views.alert_rows(alerts)

    assert [row["rule"] for row in rows] == [
        "b-firing",
        "z-firing",
        "c-pending",
        "a-ok",
    ]
    assert rows[1]["group"] == "team=billing"
    assert views.unacknowledged_firing(alerts) == [("z-firing", {"team": "billing"})]


def test_source_rows_show_state_badges_and_lag() -> None:
    rows = views.source_rows([
        {"name": "desk", "type": "rest", "state": "backing off", "lag_s": 4000.0,
         "records": 7, "rate_per_s": 0.5, "last_error": "HTTPError: 503"},
    ])  # fmt: skip

    assert rows[0]["state"] == "● backing off"
    assert (
        views.badge_style(rows[0]["state"])
        == f"color: {views.ORANGE}; font-weight: 600"
    )
    assert views.badge_style("● something new") == ""
    assert rows[0]["lag"] == "67 min"
    assert rows[0]["last error"] == "HTTPError: 503"


def test_ingest_text_counts_in_words() -> None:
    report = {"file": "a.csv", "rows": 1, "tickets": 1, "messages": 2, "quarantined": 0}

    assert (
        views.ingest_text(report)
        == "a.csv: 1 row -> 1 ticket, 2 messages, 0 quarantined"
    )
