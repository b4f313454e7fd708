"""Fixtures every test folder shares: prerequisites, shared data, real stores.

A missing prerequisite (../shared/data beside the project, the PostgreSQL
server at 127.0.0.1:5432) skips the tests that need it on a developer machine
and fails them when CI is "true", so CI never passes by running nothing.
"""

import csv
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

from supportpulse.store import Store, open_store, parse_store_url

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# ../shared/data relative to the project root; read in place, never copied.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Both store engines; PostgreSQL tests carry the `postgres` marker.
ENGINES = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test, or fail it when CI is "true"."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data directory beside the project."""
    if not SHARED_DATA.is_dir():
        skip_or_fail(
            f"no shared data at {SHARED_DATA}; put ../shared beside the project"
        )
    return SHARED_DATA


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the local server, all dropped afterwards.

    Each step opens its own admin connection: a test may restart the server.
    """
    try:
        _pg_admin().close()
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL at {PG_SERVER} is unreachable: {error}")

    created: list[str] = []

    def create() -> str:
        name = f"sp_test_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return f"{PG_SERVER}/{name}"

    yield create
    with _pg_admin() as admin:
        for name in created:
            # FORCE ends sessions a crashed CLI run may have left open.
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store: a DuckDB file, or a fresh PostgreSQL database."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")()
        return url
    return f"duckdb://{tmp_path}/store.duckdb"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, migrated store on each engine."""
    with open_store(parse_store_url(store_url)) as opened:
        yield opened


@pytest.fixture
def duckdb_store(tmp_path: Path) -> Iterator[Store]:
    """An open, migrated DuckDB store, for tests about reading, not storing."""
    with open_store(parse_store_url(f"duckdb://{tmp_path}/store.duckdb")) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _csv_field_limit() -> Iterator[None]:
    """Put back the process-wide csv field limit that RowFile changes.

    Reading a file sets `csv.field_size_limit` for the whole process and never
    restores it (see tests/ingest/test_rows.py); without this, a test with a
    small limit breaks later in-process CSV readers such as the oracle.
    """
    limit = csv.field_size_limit()
    yield
    csv.field_size_limit(limit)


@pytest.fixture
def replicated_twcs(shared_data: Path) -> Callable[[Path, int], Path]:
    """Writes the twcs sample `copies` times over with fresh ids: longer real
    conversations for replays and memory limits."""
    source = shared_data / "twcs" / "twcs_head_1000.csv"

    def write(target: Path, copies: int) -> Path:
        with source.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))

        def shifted(ids: str, offset: int) -> str:
            return ",".join(str(int(float(i)) + offset) for i in ids.split(",") if i)

        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for copy in range(copies):
                offset = copy * 10_000_000
                for row in rows:
                    parent = row["in_response_to_tweet_id"]
                    writer.writerow({
                        **row,
                        "tweet_id": int(row["tweet_id"]) + offset,
                        "response_tweet_id": shifted(row["response_tweet_id"], offset),
                        "in_response_to_tweet_id": (
                            f"{shifted(parent, offset)}.0" if parent else ""
                        ),
                    })  # fmt: skip
        return target

    return write


MARIADB_SERVER = "mysql+pymysql://root@127.0.0.1:3306"


@pytest.fixture(scope="session")
def mariadb_database() -> Iterator[Callable[[], str]]:
    """A factory of empty MariaDB databases (SQLAlchemy URLs), dropped afterwards."""
    import sqlalchemy as sa

    # Pre-ping: a test may restart the server under the pooled connection.
    admin = sa.create_engine(
        MARIADB_SERVER, pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )
    try:
        admin.connect().close()
    except sa.exc.OperationalError as error:
        skip_or_fail(f"MariaDB at 127.0.0.1:3306 is unreachable: {error.orig}")

    created: list[str] = []

    def create() -> str:
        name = f"sp_test_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
        created.append(name)
        return f"{MARIADB_SERVER}/{name}"

    yield create
    with admin.begin() as connection:
        for name in created:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()
