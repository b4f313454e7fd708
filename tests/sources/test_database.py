"""The database source against real SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from tests.conftest import PG_SERVER

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.sources.database_notify import (
    NotifyingDatabaseSource,
    NotifyOptions,
    notify_trigger_sql,
)
from supportpulse.store import Store, open_store, parse_store_url

pytestmark = pytest.mark.timeout(180)

T0 = datetime(2024, 5, 1, 9, 0)

# The seed-era ticket table: what many teams keep in their own database.
TICKETS = sa.Table(
    "support_tickets",
    sa.MetaData(),
    sa.Column("ticket_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("responded_at", sa.DateTime),
    sa.Column("team", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("priority", sa.String(10)),
    sa.Column("category", sa.String(40)),
    sa.Column("assigned_to", sa.String(40)),
    sa.Column("resolution_minutes", sa.Integer),
    sa.Column("satisfaction_score", sa.Integer),
    sa.Column("tags", sa.String(200)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        "mariadb"])  # fmt: skip
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database holding the ticket table, on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'helpdesk.sqlite'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_database")().replace(
            "postgresql://", "postgresql+psycopg://"
        )
    else:
        url = request.getfixturevalue("mariadb_database")()
    engine = sa.create_engine(url)
    TICKETS.metadata.create_all(engine)
    engine.dispose()
    return url


def _row(number: int, updated: datetime, team: str = "billing") -> dict[str, Any]:
    created = T0 + timedelta(minutes=number)
    return {
        "ticket_id": number, "created_at": created,
        "responded_at": created + timedelta(minutes=30), "team": team,
        "status": "open", "priority": ("P1", "P2", "P3")[number % 3],
        "category": "billing", "assigned_to": f"agent{number % 4}",
        "resolution_minutes": None, "satisfaction_score": 1 + number % 5,
        "tags": "a,b", "updated_at": updated,
    }  # fmt: skip


def _source(url: str, **options: Any) -> SourceSettings:
    return SourceSettings(
        name="helpdesk", type="database", interval=timedelta(milliseconds=30),
        options={
            "url": url, "table": "support_tickets", "batch_size": 25, "lookback_s": 1,
            "mappings": {"agent": "assigned_to", "csat": "satisfaction_score"},
            "values": {"priority": {"P1": "urgent", "P2": "high", "P3": "low"}},
            **options,
        },
    )  # fmt: skip


Phase = tuple[Callable[[], None] | None, Callable[[Store], bool]]


def _sync(
    store: Store, source: SourceSettings, phases: list[Phase]
) -> list[dict[str, Any]]:
    """Run the engine through phases: make a change, wait until the store shows it."""
    limits = EngineSettings(batch_wait=timedelta(milliseconds=10))
    settings = Settings(engine=limits, sources=[source])

    async def scenario() -> list[dict[str, Any]]:
        engine = Engine(store, settings)
        await engine.start()
        for change, shown in phases:
            if change is not None:
                await asyncio.to_thread(change)
            for _ in range(600):
                if await engine.query(shown, store) or _failed(engine):
                    break
                await asyncio.sleep(0.05)
        status = engine.status()
        await engine.stop()
        return status

    return asyncio.run(scenario())


def _failed(engine: Engine) -> bool:
    return any(status["state"] == "failed" for status in engine.status())


def _tickets(store: Store) -> dict[str, tuple[Any, ...]]:
    _, rows = store.fetch(
        "SELECT external_id, team, priority, agent, csat FROM tickets "
        "WHERE source = 'helpdesk'"
    )
    return {row[0]: row[1:] for row in rows}


def test_database_source_backfills_then_follows_inserts_and_updates_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    db = sa.create_engine(database_url)
    same_second = T0 + timedelta(days=1)
    with db.begin() as connection:
        # Many rows share one updated_at: the key breaks the tie.
        connection.execute(TICKETS.insert(), [_row(n, same_second) for n in range(120)])
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def change() -> None:
        with db.begin() as connection:
            later = [_row(n, same_second) for n in range(120, 150)]
            connection.execute(TICKETS.insert(), later)
            connection.execute(
                TICKETS.update()
                .where(TICKETS.c.ticket_id < 10)
                .values(team="retention", updated_at=same_second + timedelta(seconds=5))
            )

    def backfilled(store: Store) -> bool:
        return len(_tickets(store)) == 120

    def followed(store: Store) -> bool:
        tickets = _tickets(store)
        return len(tickets) == 150 and tickets.get("3", ("",))[0] == "retention"

    status = _sync(
        store, _source(database_url), [(None, backfilled), (change, followed)]
    )
    db.dispose()

    tickets = _tickets(store)
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
    status = _sync(store, _source(database_url, **{option: value}), [never])

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
        connection.execute(TICKETS.insert(), [_row(n, T0) for n in range(40)])
    db.dispose()
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def restart_then_insert() -> None:
        _restart(service, shared_data)
        again = sa.create_engine(url, pool_pre_ping=True)
        with again.begin() as connection:
            later = T0 + timedelta(hours=1)
            connection.execute(
                TICKETS.insert(), [_row(n, later) for n in range(40, 60)]
            )
        again.dispose()

    status = _sync(store, _source(url), [
        (None, lambda store: len(_tickets(store)) == 40),
        (restart_then_insert, lambda store: len(_tickets(store)) == 60),
    ])  # fmt: skip

    assert sorted(_tickets(store), key=int) == [str(n) for n in range(60)]
    assert status[0]["state"] in ("live", "degraded")


@pytest.mark.postgres
def test_database_notify_source_reads_a_new_row_on_notify_not_on_the_safety_net(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database().replace("postgresql://", "postgresql+psycopg://")
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [_row(n, T0) for n in range(10)])
    source = _source(url).model_copy(update={"type": "database-notify", "options": {
        **_source(url).options, "safety_net_s": 3600}})  # fmt: skip
    NotifyingDatabaseSource(source.name, NotifyOptions.model_validate(source.options),
                            Settings()).install_trigger()  # fmt: skip
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))

    def insert() -> None:
        with db.begin() as connection:
            connection.execute(TICKETS.insert(), [_row(10, T0 + timedelta(hours=1))])

    # The safety net is an hour away: only the notification can bring row 10.
    _sync(store, source, [
        (None, lambda store: len(_tickets(store)) == 10),
        (insert, lambda store: len(_tickets(store)) == 11),
    ])  # fmt: skip
    db.dispose()

    assert sorted(_tickets(store), key=int) == [str(n) for n in range(11)]


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
            [_row(n, T0, team="billing" if n % 2 else "sales") for n in range(20)],
        )
    db.dispose()
    store = open_store(parse_store_url(str(tmp_path / "store.duckdb")))
    source = _source(database_url, table=None, query=(
        "SELECT ticket_id, created_at, responded_at, team, priority, assigned_to, "
        "satisfaction_score, updated_at FROM support_tickets WHERE team = :team"
    ), query_params={"team": "sales"})  # fmt: skip

    _sync(store, source, [(None, lambda store: len(_tickets(store)) == 10)])

    assert sorted(_tickets(store), key=int) == [str(n) for n in range(0, 20, 2)]
    assert {team for team, *_ in _tickets(store).values()} == {"sales"}


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

    _sync(store, _source(f"sqlite:///{path}", mappings={}),
          [(None, lambda store: len(_tickets(store)) == 60)])  # fmt: skip

    assert sorted(_tickets(store), key=int) == [str(n) for n in range(60)]
