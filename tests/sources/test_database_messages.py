"""The database source's optional message table, read by its own cursor."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy
import pytest
import sqlalchemy as sa
from tests.sources.helpdesk_db import (
    MESSAGES,
    T0,
    TICKETS,
    row,
    source_settings,
    stored_tickets,
    sync,
)

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings, SLASettings
from supportpulse.errors import FatalSourceError
from supportpulse.sources.database import DatabaseOptions, DatabaseSource
from supportpulse.store import Store, open_store, parse_store_url

pytestmark = pytest.mark.timeout(180)

#: The help desk spells its authors its own way.
ROLES = {"end-user": "customer", "staff": "agent"}


def _messages_option(**changes: Any) -> dict[str, Any]:
    return {"table": "support_messages", "key_column": "message_id",
            "roles": ROLES, **changes}  # fmt: skip


def _conversation(
    ticket: int, first_message: int, day: int = 0
) -> list[dict[str, Any]]:
    """A customer asks, an agent answers a few minutes later, the customer
    thanks; all three at times other tickets share, so the key breaks ties."""
    opened = T0 + timedelta(days=day, minutes=ticket % 5)
    answer = timedelta(minutes=1 + ticket % 7)
    return [
        {"message_id": first_message, "ticket_id": ticket, "author_type": "end-user",
         "author": f"customer{ticket}", "body": "My order never arrived, terrible",
         "created_at": opened},
        {"message_id": first_message + 1, "ticket_id": ticket, "author_type": "staff",
         "author": f"agent{ticket % 4}", "body": "Sorry, sending a new one",
         "created_at": opened + answer},
        {"message_id": first_message + 2, "ticket_id": ticket, "author_type": "end-user",
         "author": f"customer{ticket}", "body": "Thanks, great help",
         "created_at": opened + answer + timedelta(hours=1)},
    ]  # fmt: skip


def _stored_messages(store: Store) -> dict[str, tuple[Any, ...]]:
    _, rows = store.fetch(
        "SELECT external_id, ticket_external_id, author_role, author_id "
        "FROM messages WHERE source = 'helpdesk' AND external_id NOT LIKE '%:%'"
    )
    return {row[0]: row[1:] for row in rows}


def test_database_source_reads_messages_by_their_own_cursor_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    db = sa.create_engine(database_url)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(n, T0) for n in range(30)])
        connection.execute(
            MESSAGES.insert(), [m for n in range(30) for m in _conversation(n, 3 * n)]
        )
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def more_messages() -> None:
        with db.begin() as connection:
            connection.execute(TICKETS.insert(), [row(n, T0) for n in range(30, 40)])
            connection.execute(
                MESSAGES.insert(),
                [m for n in range(30, 40) for m in _conversation(n, 3 * n, day=1)],
            )

    source = source_settings(database_url, messages=_messages_option())
    status = sync(store, source, [
        (None, lambda store: len(_stored_messages(store)) == 90),
        (more_messages, lambda store: len(_stored_messages(store)) == 120),
    ])  # fmt: skip
    db.dispose()

    messages = _stored_messages(store)
    assert status[0]["state"] in ("live", "degraded"), status
    assert sorted(messages, key=int) == [str(n) for n in range(120)]
    assert messages["31"] == ("10", "agent", "agent2")
    assert messages["32"] == ("10", "customer", "customer10")
    assert len(stored_tickets(store)) == 40

    # Each ticket's customer run is answered by the agent's reply.
    answers = [60.0 * (1 + n % 7) for n in range(40)]
    kpis = compute_kpis(store, KPIQuery(), SLASettings(), now=T0 + timedelta(days=3))
    reply = kpis["groups"][0]["reply_time"]
    assert reply["count"] == 40
    assert reply["p50_s"] == pytest.approx(float(numpy.percentile(answers, 50)))
    assert reply["p90_s"] == pytest.approx(float(numpy.percentile(answers, 90)))


def test_database_source_quarantines_a_message_whose_author_is_no_role(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.sqlite'}"
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    odd = {**_conversation(1, 0)[0], "author_type": "martian"}
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(1, T0)])
        connection.execute(MESSAGES.insert(), [odd, *_conversation(1, 0)[1:]])
    db.dispose()
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    source = source_settings(url, messages=_messages_option())
    sync(store, source, [(None, lambda store: len(_stored_messages(store)) == 2)])

    _, quarantined = store.fetch("SELECT file, reason FROM quarantine")
    assert quarantined == [
        ("support_messages", "author_type 'martian' is not an author role; map it to "
         "one of customer, agent, bot, system under messages.roles"),
    ]  # fmt: skip


def test_database_source_keeps_a_tickets_cursor_saved_before_messages_existed(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.sqlite'}"
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(n, T0 + timedelta(hours=n))
                                              for n in range(4)])  # fmt: skip
        connection.execute(MESSAGES.insert(), _conversation(3, 0))
    db.dispose()
    options = DatabaseOptions.model_validate(
        {**source_settings(url).options, "messages": _messages_option()}
    )
    source = DatabaseSource("helpdesk", options, Settings())

    # Where a source without messages stopped: after ticket 2.
    saved = {"updated": {"datetime": (T0 + timedelta(hours=2)).isoformat()},
             "key": {"int": 2}}  # fmt: skip
    page = asyncio.run(source.pull(saved))
    asyncio.run(source.close())

    assert [record["ticket_id"] for record in page.records] == [3, 3, 3, 3]
    assert page.cursor is not None
    assert set(page.cursor) == {"tickets", "messages"}
    batch = source.normalize(page)
    assert [ticket.external_id for ticket in batch.tickets] == ["3"]
    assert [message.external_id for message in batch.messages] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("table", "support_messages; DROP TABLE support_tickets"),
     ("key_column", 'message_id"; DELETE FROM support_messages; --')],
)  # fmt: skip
def test_database_source_refuses_message_names_missing_from_the_schema(
    tmp_path: Path, option: str, value: str
) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.sqlite'}"
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(MESSAGES.insert(), _conversation(1, 0))
    options = DatabaseOptions.model_validate(
        {
            **source_settings(url).options,
            "messages": _messages_option(**{option: value}),
        }
    )
    source = DatabaseSource("helpdesk", options, Settings())

    with pytest.raises(FatalSourceError, match=f"messages.{option} '") as refused:
        source.describe()

    assert "source 'helpdesk'" in str(refused.value)
    with db.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM support_messages"))
        assert count.scalar() == 3
    db.dispose()


def test_database_source_describes_message_columns_beside_ticket_columns(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.sqlite'}"
    TICKETS.metadata.create_all(sa.create_engine(url))
    options = DatabaseOptions.model_validate(
        {**source_settings(url).options, "messages": _messages_option()}
    )

    described = DatabaseSource("helpdesk", options, Settings()).describe()

    assert described["agent"] == "assigned_to"
    assert {key: column for key, column in described.items()
            if key.startswith("messages.")} == {
        "messages.external_id": "message_id", "messages.ticket_external_id": "ticket_id",
        "messages.created_at": "created_at", "messages.author_role": "author_type",
        "messages.author_id": "author", "messages.body": "body",
    }  # fmt: skip
