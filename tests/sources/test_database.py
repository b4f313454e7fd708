"""The database source against real SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from tests.conftest import PG_SERVER
from tests.sources.helpdesk_db import (
    T0,
    TICKETS,
    Phase,
    row,
    source_settings,
    stored_tickets,
    sync,
)

from supportpulse.config import EngineSettings, Settings
from supportpulse.errors import RetriableSourceError
from supportpulse.sources.database import DatabaseOptions, DatabaseSource
from supportpulse.sources.database_notify import (
    NotifyingDatabaseSource,
    NotifyOptions,
    notify_trigger_sql,
)
from supportpulse.store import Store, open_store, parse_store_url

pytestmark = pytest.mark.timeout(180)


def test_database_source_backfills_then_follows_inserts_and_updates_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    db = sa.create_engine(database_url)
    same_second = T0 + timedelta(days=1)
    with db.begin() as connection:
        # Many rows share one updated_at: the key breaks the tie.
        connection.execute(TICKETS.insert(), [row(n, same_second) for n in range(120)])
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def change() -> None:
        with db.begin() as connection:
            later = [row(n, same_second) for n in range(120, 150)]
            connection.execute(TICKETS.insert(), later)
            connection.execute(
                TICKETS.update()
                .where(TICKETS.c.ticket_id < 10)
                .values(team="retention", updated_at=same_second + timedelta(seconds=5))
            )

    def backfilled(store: Store) -> bool:
        return len(stored_tickets(store)) == 120

    def followed(store: Store) -> bool:
        tickets = stored_tickets(store)
        return len(tickets) == 150 and tickets.get("3", ("",))[0] == "retention"

    status = sync(
        store, source_settings(database_url), [(None, backfilled), (change, followed)]
    )
    db.dispose()

    tickets = stored_tickets(store)
    assert status[0]["state"] in ("live", "degraded"), status
    assert sorted(tickets, key=int) == [str(n) for n in range(150)]
    assert tickets["3"] == ("retention", "urgent", "agent3", 4.0)
    assert tickets["130"] == ("billing", "high", "agent2", 1.0)


@pytest.mark.parametrize(
    ("option", "value"),
    [("table", "support_tickets; DROP TABLE support_tickets"),
     ("updated_column", "updated_at) OR 1=1 --"),
     ("key_column", 'ticket_id"; DELETE FROM support_tickets; --')],
)  # fmt: skip
def test_database_source_refuses_names_missing_from_the_schema(
    database_url: str, tmp_path: Path, option: str, value: str
) -> None:
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    never: Phase = (None, lambda _: False)
    status = sync(store, source_settings(database_url, **{option: value}), [never])

    assert status[0]["state"] == "failed"
    assert value.split()[0][:10] in status[0]["last_error"]
    with sa.create_engine(database_url).connect() as connection:
        assert (
            connection.execute(sa.text("SELECT count(*) FROM support_tickets")).scalar()
            == 0
        )


def _restart(service: str, shared_data: Path) -> None:
    """Stop a local database server hard and start it again as the machine does."""
    if service == "postgresql":
        cluster = next(Path("/etc/postgresql").glob("*"), None)
        if shutil.which("pg_ctlcluster") is None or cluster is None:
            pytest.skip("pg_ctlcluster is not available to restart PostgreSQL")
        # Flush dirty pages first: on a busy machine the shutdown checkpoint
        # otherwise keeps the server "shutting down" for longer than the
        # source's circuit breaker waits, and the test measures the machine.
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute("CHECKPOINT")
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", cluster.name, "main",
                   "restart"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        return
    daemon = shutil.which("start-stop-daemon")
    ensure = shared_data.parent / "scripts" / "ensure-services"
    if daemon is None or not ensure.exists():
        pytest.skip("no start-stop-daemon or ensure-services to restart MariaDB")
    subprocess.run(
        [daemon, "--stop", "--oknodo", "--retry", "30", "--exec", "/usr/sbin/mariadbd"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [str(ensure), "mariadb"], check=True, capture_output=True, timeout=120
    )


@pytest.mark.parametrize(
    "service", [pytest.param("postgresql", marks=pytest.mark.postgres), "mariadb"]
)
def test_database_source_reconnects_after_the_server_restarts(
    request: pytest.FixtureRequest, shared_data: Path, tmp_path: Path, service: str
) -> None:
    if service == "postgresql":
        url = request.getfixturevalue("pg_database")().replace(
            "postgresql://", "postgresql+psycopg://"
        )
    else:
        url = request.getfixturevalue("mariadb_database")()
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(n, T0) for n in range(40)])
    db.dispose()
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def restart_then_insert() -> None:
        _restart(service, shared_data)
        again = sa.create_engine(url, pool_pre_ping=True)
        with again.begin() as connection:
            later = T0 + timedelta(hours=1)
            connection.execute(TICKETS.insert(), [row(n, later) for n in range(40, 60)])
        again.dispose()

    # A loaded machine may take many seconds to restart a server: keep
    # retrying quickly instead of opening the circuit, which would read as failed.
    patient = EngineSettings(
        batch_wait=timedelta(milliseconds=10), failures_before_open=10_000,
        backoff_base=timedelta(milliseconds=100), backoff_cap=timedelta(seconds=2),
    )  # fmt: skip
    status = sync(store, source_settings(url), [
        (None, lambda store: len(stored_tickets(store)) == 40),
        (restart_then_insert, lambda store: len(stored_tickets(store)) == 60),
    ], limits=patient, wait_s=120)  # fmt: skip

    assert sorted(stored_tickets(store), key=int) == [str(n) for n in range(60)]
    assert status[0]["state"] in ("live", "degraded")


@pytest.mark.postgres
def test_database_notify_source_reads_a_new_row_on_notify_not_on_the_safety_net(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database().replace("postgresql://", "postgresql+psycopg://")
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(n, T0) for n in range(10)])
    source = source_settings(url).model_copy(update={"type": "database-notify", "options": {
        **source_settings(url).options, "safety_net_s": 3600}})  # fmt: skip
    NotifyingDatabaseSource(source.name, NotifyOptions.model_validate(source.options),
                            Settings()).install_trigger()  # fmt: skip
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def insert() -> None:
        with db.begin() as connection:
            connection.execute(TICKETS.insert(), [row(10, T0 + timedelta(hours=1))])

    # The safety net is an hour away: only the notification can bring row 10.
    sync(store, source, [
        (None, lambda store: len(stored_tickets(store)) == 10),
        (insert, lambda store: len(stored_tickets(store)) == 11),
    ])  # fmt: skip
    db.dispose()

    assert sorted(stored_tickets(store), key=int) == [str(n) for n in range(11)]


def test_notify_trigger_sql_quotes_the_table_as_an_identifier() -> None:
    sql = notify_trigger_sql('odd"name', "supportpulse_tickets")

    assert 'ON "odd""name"' in sql
    assert "pg_notify('supportpulse_tickets', '')" in sql


def test_database_source_reads_a_query_with_bound_parameters(
    database_url: str, tmp_path: Path
) -> None:
    db = sa.create_engine(database_url)
    with db.begin() as connection:
        connection.execute(
            TICKETS.insert(),
            [row(n, T0, team="billing" if n % 2 else "sales") for n in range(20)],
        )
    db.dispose()
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))
    source = source_settings(database_url, table=None, query=(
        "SELECT ticket_id, created_at, responded_at, team, priority, assigned_to, "
        "satisfaction_score, updated_at FROM support_tickets WHERE team = :team"
    ), query_params={"team": "sales"})  # fmt: skip

    sync(store, source, [(None, lambda store: len(stored_tickets(store)) == 10)])

    assert sorted(stored_tickets(store), key=int) == [str(n) for n in range(0, 20, 2)]
    assert {team for team, *_ in stored_tickets(store).values()} == {"sales"}


def test_database_source_pages_through_text_timestamps_without_losing_rows(
    tmp_path: Path,
) -> None:
    # SQLite keeps timestamps as text in whatever layout the writer chose; a
    # cursor bound back as a datetime would compare as different text.
    path = tmp_path / "plain.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE support_tickets (ticket_id INTEGER PRIMARY KEY, "
            "created_at TEXT, team TEXT, updated_at TEXT)"
        )
        connection.executemany(
            "INSERT INTO support_tickets VALUES (?, '2024-01-01 09:00:00', 'billing', "
            "'2024-01-01 10:00:00')",
            [(n,) for n in range(60)],
        )
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    sync(store, source_settings(f"sqlite:///{path}", mappings={}),
          [(None, lambda store: len(stored_tickets(store)) == 60)])  # fmt: skip

    assert sorted(stored_tickets(store), key=int) == [str(n) for n in range(60)]


def test_database_source_reads_through_a_session_that_refuses_writes(
    database_url: str,
) -> None:
    options = DatabaseOptions.model_validate(source_settings(database_url).options)
    source = DatabaseSource("helpdesk", options, Settings())

    with (
        pytest.raises(sa.exc.DBAPIError, match=r"(?i)read.only|readonly"),
        source._engine.begin() as connection,
    ):
        connection.execute(TICKETS.insert(), [row(1, T0)])
    asyncio.run(source.close())

    with sa.create_engine(database_url).connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM support_tickets"))
        assert count.scalar() == 0


@pytest.mark.postgres
def test_database_source_cancels_a_read_beyond_the_statement_timeout(
    pg_database: Callable[[], str],
) -> None:
    url = pg_database().replace("postgresql://", "postgresql+psycopg://")
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(1, T0)])
    db.dispose()
    slow = "SELECT t.* FROM support_tickets t CROSS JOIN pg_sleep(5)"
    options = DatabaseOptions.model_validate({
        **source_settings(url).options, "table": None, "query": slow,
        "statement_timeout_s": 0.3,
    })  # fmt: skip
    source = DatabaseSource("helpdesk", options, Settings())

    with pytest.raises(RetriableSourceError, match="statement timeout"):
        asyncio.run(source.pull(None))
    asyncio.run(source.close())


def _plain_table(path: Path, ddl: str, rows: list[tuple[Any, ...]]) -> str:
    """A SQLite file holding one table, as a team might have made it by hand."""
    with sqlite3.connect(path) as connection:
        connection.execute(ddl)
        marks = ", ".join("?" * len(rows[0]))
        connection.executemany(f"INSERT INTO support_tickets VALUES ({marks})", rows)
    return f"sqlite:///{path}"


def _quarantine(store: Store) -> list[tuple[Any, ...]]:
    _, rows = store.fetch("SELECT file, line, reason FROM quarantine ORDER BY reason")
    return rows


@pytest.mark.postgres
def test_database_source_follows_a_table_with_time_zone_timestamps(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database().replace("postgresql://", "postgresql+psycopg://")
    db = sa.create_engine(url)
    with db.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE support_tickets (ticket_id TEXT PRIMARY KEY, "
            "created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)"
        ))  # fmt: skip
        connection.execute(sa.text(
            "INSERT INTO support_tickets SELECT 'T' || n, "
            "timestamptz '2024-05-01 09:00+02' + n * interval '1 minute', "
            "timestamptz '2024-05-01 09:00+02' + n * interval '1 minute' "
            "FROM generate_series(1, 25) AS n"
        ))  # fmt: skip
    db.dispose()
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    status = sync(store, source_settings(url, mappings={}),
                  [(None, lambda store: len(stored_tickets(store)) == 25)])  # fmt: skip

    assert status[0]["state"] in ("live", "degraded"), status
    assert status[0]["lag_s"] is not None
    _, first = store.fetch("SELECT created_at FROM tickets WHERE external_id = 'T1'")
    assert first == [(datetime(2024, 5, 1, 7, 1),)]


def test_database_source_quarantines_a_row_without_updated_time_once(
    tmp_path: Path,
) -> None:
    url = _plain_table(
        tmp_path / "nulls.sqlite",
        "CREATE TABLE support_tickets (ticket_id TEXT, created_at TEXT, updated_at TEXT)",
        [("Z1", "2024-01-01 09:00:00", "2024-01-01 09:00:00"),
         ("Z2", "2024-01-01 09:00:00", None)],
    )  # fmt: skip
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def settled(store: Store) -> bool:
        return len(stored_tickets(store)) == 1 and len(_quarantine(store)) >= 1

    status = sync(store, source_settings(url, mappings={}), [
        (None, settled), (lambda: time.sleep(0.5), lambda store: False),
    ])  # fmt: skip

    assert list(stored_tickets(store)) == ["Z1"]
    assert status[0]["state"] in ("live", "degraded"), status
    assert _quarantine(store) == [
        ("support_tickets", None, "updated_at is empty, so changes to this row "
         "cannot be followed; ticket_id 'Z2'"),
    ]  # fmt: skip


def test_database_source_follows_an_epoch_seconds_updated_column(
    tmp_path: Path,
) -> None:
    url = _plain_table(
        tmp_path / "epoch.sqlite",
        "CREATE TABLE support_tickets (ticket_id INTEGER, created_at TEXT, "
        "updated_at INTEGER)",
        [(n, "2024-01-01 00:00:00", 1704067200 + n) for n in range(30)],
    )
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    status = sync(store, source_settings(url, mappings={}),
                  [(None, lambda store: len(stored_tickets(store)) == 30)])  # fmt: skip

    assert status[0]["state"] in ("live", "degraded"), status
    assert status[0]["newest_record"] == "2024-01-01T00:00:29Z"


def test_database_source_reads_a_late_row_after_a_page_that_ended_full(
    tmp_path: Path,
) -> None:
    # 50 rows in pages of 25: the last full page leaves an exact cursor, and
    # the pass after it must still look back for rows committed late.
    url = _plain_table(
        tmp_path / "full.sqlite",
        "CREATE TABLE support_tickets (ticket_id TEXT, created_at TEXT, updated_at TEXT)",
        [(f"R{n:02}", "2024-01-01 09:00:00", f"2024-01-01 10:00:{n:02}")
         for n in range(50)],
    )  # fmt: skip
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def late_rows() -> None:
        time.sleep(0.3)
        with sqlite3.connect(tmp_path / "full.sqlite") as connection:
            connection.executemany(
                "INSERT INTO support_tickets VALUES (?, '2024-01-01 09:00:00', ?)",
                [("LATE1", "2024-01-01 10:00:47"), ("LATE2", "2024-01-01 10:00:54")],
            )

    sync(store, source_settings(url, mappings={}, lookback_s=5), [
        (None, lambda store: len(stored_tickets(store)) == 50),
        (late_rows, lambda store: len(stored_tickets(store)) == 52),
    ])  # fmt: skip

    assert {"LATE1", "LATE2"} <= set(stored_tickets(store))


def test_database_source_quarantines_a_bad_row_once_across_polls(
    tmp_path: Path,
) -> None:
    url = _plain_table(
        tmp_path / "bad.sqlite",
        "CREATE TABLE support_tickets (ticket_id TEXT, created_at TEXT, updated_at TEXT)",
        [("G1", "2024-01-01 09:00:00", "2024-01-01 10:00:00"),
         ("G2", "garbage", "2024-01-01 10:00:01")],
    )  # fmt: skip
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    # Each poll re-reads the last seconds of rows; the bad one must not pile up.
    sync(store, source_settings(url, mappings={}), [
        (None, lambda store: len(stored_tickets(store)) == 1),
        (lambda: time.sleep(1.0), lambda store: False),
    ])  # fmt: skip

    assert [reason[:25] for _, _, reason in _quarantine(store)] == [
        "created_at 'garbage' is n"
    ]
