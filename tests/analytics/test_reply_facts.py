"""Reply facts kept up to date write by write give the figures a full pass
over every message thread gives.

Random histories of writes (tickets created and re-dated, messages added,
moved between tickets, answering others by id, tickets deleted) are played
into a store. After each one the facts must equal facts derived from scratch,
and the first-response and reply-time figures must equal a plain Python
reading of docs/metrics.md over the rows the store holds, for any window.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.analytics.reply_facts import refresh_reply_facts
from supportpulse.config import SLASettings
from supportpulse.model import Batch, Message, Ticket
from supportpulse.store import Store, open_store, parse_store_url

START = datetime(2024, 3, 1, 8)
TICKETS = [f"t{number}" for number in range(4)]
MESSAGES = [f"m{number}" for number in range(10)]

tickets = st.builds(
    lambda key, minute, status: (key, minute, status),
    st.sampled_from(TICKETS),
    st.integers(0, 120),
    st.sampled_from(["open", "open", "open", "deleted"]),
)
messages = st.builds(
    lambda key, ticket, minute, role, reply_to: (key, ticket, minute, role, reply_to),
    st.sampled_from(MESSAGES),
    st.sampled_from(TICKETS),
    st.integers(0, 240),
    st.sampled_from(["customer", "agent"]),
    st.one_of(st.none(), st.none(), st.sampled_from(MESSAGES)),
)
batches = st.lists(
    st.tuples(
        st.lists(tickets, max_size=3),
        st.lists(messages, max_size=5),
        st.lists(st.sampled_from(TICKETS), max_size=1),
    ),
    min_size=1,
    max_size=6,
)


def _batch(step: int, spec: tuple[list[Any], list[Any], list[str]]) -> Batch:
    # Each step is newer than the last, so every upsert replaces what it names.
    stamp = START + timedelta(days=30, seconds=step)
    ticket_specs, message_specs, deleted = spec
    return Batch(
        tickets=[
            Ticket("desk", key, START + timedelta(minutes=minute), stamp, status=status)
            for key, minute, status in ticket_specs
        ],
        messages=[
            Message(
                "desk",
                key,
                ticket,
                START + timedelta(minutes=minute),
                stamp,
                role,
                reply_to=reply_to,
            )
            for key, ticket, minute, role, reply_to in message_specs
        ],
        deleted_tickets=[("desk", key) for key in deleted],
    )


def _at(minute: int) -> datetime:
    return START + timedelta(minutes=minute)


def _tickets_a_and_b() -> list[Ticket]:
    return [Ticket("desk", "a", _at(0), _at(0)), Ticket("desk", "b", _at(0), _at(0))]


def _facts(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    _, answers = store.fetch("SELECT * FROM ticket_answers")
    _, waits = store.fetch("SELECT * FROM reply_waits")
    return sorted(answers, key=repr), sorted(waits, key=repr)


def _rebuilt_facts(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The facts derived from nothing, every ticket and thread at once."""
    store.execute("DELETE FROM ticket_answers")
    store.execute("DELETE FROM reply_waits")
    store.execute(
        "INSERT INTO kpi_stale SELECT source, external_id FROM tickets"
        " UNION SELECT source, ticket_external_id FROM messages"
    )
    refresh_reply_facts(store)
    return _facts(store)


@dataclass
class Row:
    """A stored message, as the reference reads it."""

    key: str
    ticket: str
    at: datetime
    role: str
    reply_to: str | None


def _reference(store: Store, since: datetime, until: datetime) -> dict[str, Any]:
    """First-response and reply-time samples by docs/metrics.md, in plain Python."""
    _, ticket_rows = store.fetch(
        "SELECT external_id, created_at, first_response_at FROM tickets"
        " WHERE status IS DISTINCT FROM 'deleted'"
    )
    _, message_rows = store.fetch(
        "SELECT external_id, ticket_external_id, created_at, author_role, reply_to"
        " FROM messages"
    )
    every = [Row(*row) for row in message_rows]
    first_response, reply = [], []
    for key, created, stated in ticket_rows:
        thread = sorted(
            (m for m in every if m.ticket == key and m.at < until),
            key=lambda m: (m.at, m.key),
        )
        answered = stated if stated is not None and stated < until else None
        agents = [m.at for m in thread if m.role == "agent" and m.at >= created]
        answered = answered or (min(agents) if agents else None)
        if created < until and since <= created and answered is not None:
            first_response.append((answered - created).total_seconds())

        for index, asked in enumerate(thread):
            if asked.role != "customer" or not since <= asked.at < until:
                continue
            by_id = [
                m.at for m in every
                if m.reply_to == asked.key and m.role == "agent" and asked.at <= m.at < until
            ]  # fmt: skip
            if by_id:
                reply.append((min(by_id) - asked.at).total_seconds())
            keys = {m.key for m in thread}
            threaded = any(m.reply_to is not None for m in thread) or any(
                m.reply_to in keys for m in every if m.at < until
            )
            opens_wait = index == 0 or thread[index - 1].role != "customer"
            later = [m.at for m in thread[index + 1 :] if m.role == "agent"]
            if not threaded and opens_wait and later:
                reply.append((later[0] - asked.at).total_seconds())
    return {"first_response": _stats(first_response), "reply_time": _stats(reply)}


def _stats(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"count": 0, "p50_s": None, "mean_s": None}
    return {
        "count": len(samples),
        "p50_s": pytest.approx(float(numpy.percentile(samples, 50))),
        "mean_s": pytest.approx(statistics.fmean(samples)),
    }


def _figures(store: Store, since: datetime, until: datetime) -> dict[str, Any]:
    (group,) = compute_kpis(store, KPIQuery(since=since, until=until), SLASettings())[
        "groups"
    ] or [None]
    if group is None:
        return {"first_response": _stats([]), "reply_time": _stats([])}
    return {
        name: {stat: group[name][stat] for stat in ("count", "p50_s", "mean_s")}
        for name in ("first_response", "reply_time")
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    history=batches,
    since_minute=st.integers(0, 120),
    until_minute=st.integers(60, 300),
)
def test_reply_facts_kept_by_writes_equal_facts_derived_from_scratch(
    history: list[tuple[list[Any], list[Any], list[str]]],
    since_minute: int,
    until_minute: int,
) -> None:
    since = START + timedelta(minutes=since_minute)
    until = START + timedelta(minutes=until_minute)
    with open_store(parse_store_url("duckdb://:memory:")) as store:
        for step, spec in enumerate(history):
            store.write(_batch(step, spec))
            assert _figures(store, since, until) == _reference(store, since, until)

        kept = _facts(store)
        assert kept == _rebuilt_facts(store)


def test_reply_facts_follow_a_message_moved_to_another_ticket(store: Store) -> None:
    at = START
    first = Batch(
        tickets=[Ticket("desk", "a", at, at), Ticket("desk", "b", at, at)],
        messages=[
            Message("desk", "ask", "a", at, at, "customer"),
            Message("desk", "answer", "a", at + timedelta(minutes=5), at, "agent"),
            Message("desk", "other", "b", at + timedelta(minutes=1), at, "customer"),
        ],
    )
    store.write(first)
    before = _figures(store, START, START + timedelta(hours=1))
    assert before["reply_time"]["count"] == 1
    assert before["first_response"]["count"] == 1

    # The help desk merges ticket a's answer into b: a loses its reply and
    # its first response, b gains both.
    later = at + timedelta(seconds=1)
    store.write(
        Batch(messages=[Message("desk", "answer", "b", at + timedelta(minutes=5),
                                later, "agent")])
    )  # fmt: skip

    after = _figures(store, START, START + timedelta(hours=1))
    assert after == _reference(store, START, START + timedelta(hours=1))
    assert after["reply_time"] == _stats([240.0])
    _, answers = store.fetch(
        "SELECT ticket_external_id, first_agent_message FROM ticket_answers"
    )
    assert answers == [("b", "answer")]
    assert _facts(store) == _rebuilt_facts(store)


def test_reply_facts_follow_an_answer_by_id_from_another_ticket(store: Store) -> None:
    at = START
    store.write(
        Batch(
            tickets=[Ticket("desk", "a", at, at), Ticket("desk", "b", at, at)],
            messages=[Message("desk", "ask", "a", at, at, "customer")],
        )
    )
    assert (
        _figures(store, START, START + timedelta(hours=1))["reply_time"]["count"] == 0
    )

    # Only ticket b is written, yet the customer message in a is now answered.
    store.write(
        Batch(messages=[Message("desk", "answer", "b", at + timedelta(minutes=3), at,
                                "agent", reply_to="ask")])
    )  # fmt: skip

    assert _figures(store, START, START + timedelta(hours=1))["reply_time"] == _stats(
        [180.0]
    )
    store.write(Batch(deleted_tickets=[("desk", "b")]))
    assert (
        _figures(store, START, START + timedelta(hours=1))["reply_time"]["count"] == 0
    )
    assert _facts(store) == _rebuilt_facts(store)


def test_reply_facts_follow_a_later_answer_moved_away(store: Store) -> None:
    store.write(
        Batch(
            tickets=_tickets_a_and_b(),
            messages=[
                Message("desk", "ask", "a", _at(0), _at(0), "customer"),
                Message("desk", "answer", "a", _at(1), _at(0), "agent"),
                Message("desk", "again", "a", _at(2), _at(0), "customer"),
                Message("desk", "second", "a", _at(4), _at(0), "agent"),
            ],
        )
    )
    assert _figures(store, _at(0), _at(60))["reply_time"] == _stats([60.0, 120.0])

    # Not the ticket's first answer, so only the wait it closed refers to it.
    store.write(
        Batch(messages=[Message("desk", "second", "b", _at(4), _at(1), "agent")])
    )
    # Only b was written; a, which the answer left, is derived again too.
    assert refresh_reply_facts(store) == 2

    assert _figures(store, _at(0), _at(60))["reply_time"] == _stats([60.0])
    assert _facts(store) == _rebuilt_facts(store)


def test_reply_facts_follow_an_answer_that_names_another_message(store: Store) -> None:
    store.write(
        Batch(
            tickets=_tickets_a_and_b(),
            messages=[
                Message("desk", "ask", "a", _at(0), _at(0), "customer"),
                Message("desk", "other", "b", _at(1), _at(0), "customer"),
                Message("desk", "answer", "b", _at(3), _at(0), "agent", reply_to="ask"),
            ],
        )
    )
    assert _figures(store, _at(0), _at(60))["reply_time"] == _stats([180.0])

    # Corrected to answer the message of its own ticket: ticket a, not
    # written, loses its reply.
    store.write(
        Batch(messages=[Message("desk", "answer", "b", _at(3), _at(1), "agent",
                                reply_to="other")])
    )  # fmt: skip

    assert _figures(store, _at(0), _at(60))["reply_time"] == _stats([120.0])
    assert _facts(store) == _rebuilt_facts(store)


def test_a_message_answered_by_id_from_another_ticket_counts_once(
    store: Store,
) -> None:
    # Ticket a pairs in order (c1 -> a2), but a3 in ticket b answers c1 by
    # id, five minutes earlier: c1 is one sample, timed to its earliest
    # answer, as when all four sit in one ticket.
    store.write(
        Batch(
            tickets=_tickets_a_and_b(),
            messages=[
                Message("desk", "c1", "a", _at(0), _at(0), "customer"),
                Message("desk", "a2", "a", _at(10), _at(0), "agent"),
                Message("desk", "a3", "b", _at(5), _at(0), "agent", reply_to="c1"),
                Message("desk", "c4", "b", _at(20), _at(0), "customer", reply_to="a3"),
            ],
        )
    )

    assert _figures(store, _at(0), _at(60))["reply_time"] == _stats([300.0])
    assert _facts(store) == _rebuilt_facts(store)


def test_reply_times_follow_a_ticket_moved_to_another_team(store: Store) -> None:
    thread = [
        Message("desk", "ask", "a", _at(0), _at(0), "customer"),
        Message("desk", "answer", "a", _at(2), _at(0), "agent"),
    ]
    store.write(Batch([Ticket("desk", "a", _at(0), _at(0), team="billing")], thread))
    store.write(Batch([Ticket("desk", "a", _at(0), _at(1), team="returns")]))

    groups = compute_kpis(store, KPIQuery(until=_at(60), by=("team",)), SLASettings())[
        "groups"
    ]
    assert [(g["key"]["team"], g["reply_time"]["count"]) for g in groups] == [
        ("returns", 1)
    ]
    for dimension in ("agent", "channel", "priority", "category", "source"):
        document = compute_kpis(
            store, KPIQuery(until=_at(60), by=(dimension,)), SLASettings()
        )
        assert sum(g["reply_time"]["count"] for g in document["groups"]) == 1


def test_reply_facts_of_an_upgraded_store_are_derived_on_first_use(
    tmp_path: Any,
) -> None:
    url = parse_store_url(f"duckdb://{tmp_path}/old.duckdb")
    with open_store(url) as store:
        store.write(
            Batch(
                tickets=[Ticket("desk", "a", START, START)],
                messages=[
                    Message("desk", "ask", "a", START, START, "customer"),
                    Message("desk", "answer", "a", START + timedelta(minutes=2), START,
                            "agent"),
                ],
            )
        )  # fmt: skip
        # As a store written before reply facts existed: rows, no facts.
        store.execute("DELETE FROM ticket_answers")
        store.execute("DELETE FROM reply_waits")
        store.execute("DELETE FROM kpi_stale")
        store.execute("DELETE FROM schema_migrations WHERE version = 6")
        for table in ("kpi_stale", "ticket_answers", "reply_waits"):
            store.execute(f"DROP TABLE {table}")

    with open_store(url) as store:
        figures = _figures(store, START, START + timedelta(hours=1))

    assert figures["reply_time"] == _stats([120.0])
    assert figures["first_response"] == _stats([120.0])


def test_a_large_refresh_is_logged_with_its_size() -> None:
    tickets = [Ticket("desk", f"t{n}", START, START) for n in range(10_000)]
    with open_store(parse_store_url("duckdb://:memory:")) as store:
        store.write(Batch(tickets=tickets))
        with capture_logs() as logged:
            refresh_reply_facts(store)
            refresh_reply_facts(store)

    derived = [entry for entry in logged if entry["event"] == "reply_facts_derived"]
    assert [entry["tickets"] for entry in derived] == [10_000]
