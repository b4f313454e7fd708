"""The simulated help desk: deterministic, shaped like a real one, consistent."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from supportpulse.analytics.sentiment import NEGATIVE_AT_OR_BELOW, sentiment
from supportpulse.simulation import Event, HelpdeskModel, timeline

MONDAY = datetime(2024, 1, 1)
WEEK = MONDAY + timedelta(days=7)


def _week(seed: int = 1) -> list[Event]:
    return list(timeline(HelpdeskModel(seed=seed), MONDAY, WEEK))


def _arrivals(events: list[Event]) -> list[datetime]:
    return [
        event.at
        for event in events
        if event.record["kind"] == "ticket" and event.record["status"] == "new"
    ]


def test_timeline_same_seed_gives_the_same_records() -> None:
    first, again = _week(), _week()

    assert [(e.at, e.record) for e in first] == [(e.at, e.record) for e in again]
    assert [e.record for e in _week(seed=2)] != [e.record for e in first]


def test_timeline_is_in_event_time_order() -> None:
    events = _week()

    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    assert all(MONDAY <= event.at < WEEK for event in events)


def test_timeline_has_more_arrivals_in_the_afternoon_than_at_night() -> None:
    hours = Counter(moment.hour for moment in _arrivals(_week()))

    assert hours[14] > 4 * hours[3]


def test_timeline_has_more_arrivals_on_weekdays_than_at_weekends() -> None:
    days = Counter(moment.weekday() for moment in _arrivals(_week()))

    assert days[0] > 1.5 * days[6]


def test_timeline_follows_the_local_day_of_its_time_zone() -> None:
    tokyo = HelpdeskModel(zone=ZoneInfo("Asia/Tokyo"))
    arrivals = _arrivals(list(timeline(tokyo, MONDAY, WEEK)))
    hours = Counter(moment.hour for moment in arrivals)

    # 14:00 in Tokyo is 05:00 UTC; 03:00 in Tokyo is 18:00 UTC.
    assert hours[5] > 4 * hours[18]


def test_timeline_puts_every_reply_after_its_ticket_and_the_message_it_answers() -> (
    None
):
    created: dict[str, datetime] = {}
    messages: dict[str, datetime] = {}
    for event in _week():
        record = event.record
        if record["kind"] == "ticket":
            created.setdefault(
                record["id"], datetime.fromisoformat(record["created_at"])
            )
            if record["resolved_at"]:
                assert record["resolved_at"] >= record["created_at"]
            continue
        ticket_created = created[record["ticket_id"]]
        assert event.at >= ticket_created
        if record["reply_to"]:
            assert event.at >= messages[record["reply_to"]]
        messages[record["id"]] = event.at

    assert len(created) > 1000


def test_timeline_gives_the_same_tickets_for_an_hour_whatever_the_start() -> None:
    model = HelpdeskModel()
    later = MONDAY + timedelta(hours=30)
    whole = {e.record["id"] for e in timeline(model, MONDAY, WEEK) if e.at >= later}
    tail = {e.record["id"] for e in timeline(model, later, WEEK)}

    assert tail <= whole
    assert len(tail) > 100


def test_timeline_customer_messages_spread_over_sentiment() -> None:
    scores = [
        sentiment(event.record["body"])
        for event in _week()
        if event.record["kind"] == "message" and event.record["role"] == "customer"
    ]
    values = [score for score in scores if score is not None]
    negative = sum(score <= NEGATIVE_AT_OR_BELOW for score in values) / len(values)
    positive = sum(score >= 0.05 for score in values) / len(values)

    assert 0.2 < negative < 0.7
    assert positive > 0.15


def test_timeline_breaches_some_first_response_targets_but_not_most() -> None:
    targets = {"urgent": 900, "high": 3600, "normal": 14400, "low": 86400}
    created: dict[str, tuple[datetime, str]] = {}
    breached = answered = 0
    for event in _week():
        record = event.record
        if record["kind"] == "ticket" and record["status"] == "new":
            created[record["id"]] = (event.at, record["priority"])
        elif record["kind"] == "ticket" and record["status"] == "open":
            at, priority = created.pop(record["id"])
            answered += 1
            breached += (event.at - at).total_seconds() > targets[priority]

    assert 0.05 < breached / answered < 0.5
