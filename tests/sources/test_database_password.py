"""The database source's `password` option: any characters, never shown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from tests.conftest import PG_SERVER
from tests.sources.helpdesk_db import T0, TICKETS, row, source_settings

from supportpulse.config import Settings
from supportpulse.errors import SourceError
from supportpulse.sources.database import DatabaseOptions, DatabaseSource

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

# Characters that end the password, the host or the path of a URL.
SECRET = "CANARY@pw:/#?x"


@pytest.fixture
def reader_role(pg_database: Callable[[], str]) -> Iterator[tuple[str, str]]:
    """A login role with a URL-hostile password, and a database it may read."""
    url = pg_database().replace("postgresql://", "postgresql+psycopg://")
    db = sa.create_engine(url)
    TICKETS.metadata.create_all(db)
    with db.begin() as connection:
        connection.execute(TICKETS.insert(), [row(1, T0)])
    db.dispose()

    role = f"sp_reader_{uuid.uuid4().hex[:12]}"
    admin_url = url.replace("+psycopg", "")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(SECRET)
            )
        )
        admin.execute(
            sql.SQL("GRANT SELECT ON support_tickets TO {}").format(
                sql.Identifier(role)
            )
        )
    yield role, url.rsplit("/", 1)[1]

    # Its grant lives in the test database, so it is revoked there first.
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _source(role: str, database: str) -> DatabaseSource:
    url = f"postgresql+psycopg://{role}@127.0.0.1:5432/{database}"
    options = DatabaseOptions.model_validate(
        {**source_settings(url).options, "password": SECRET}
    )
    return DatabaseSource("helpdesk", options, Settings())


def test_database_source_password_option_keeps_the_url_whole(
    reader_role: tuple[str, str],
) -> None:
    role, database = reader_role
    source = _source(role, database)

    page = asyncio.run(source.pull(None))
    asyncio.run(source.close())

    assert source._engine.url.host == "127.0.0.1"
    assert source._engine.url.username == role
    assert source._engine.url.password == SECRET
    assert [record["ticket_id"] for record in page.records] == [1]


def test_database_source_errors_never_show_the_password_option(
    reader_role: tuple[str, str],
) -> None:
    role, _ = reader_role
    source = _source(role, "sp_no_such_database")

    with pytest.raises(SourceError) as raised:
        asyncio.run(source.pull(None))
    # A driver message that quotes the connection string must be masked too.
    quoted = source._problem(RuntimeError(f"connection to {SECRET} refused"))
    asyncio.run(source.close())

    assert "sp_no_such_database" in str(raised.value)
    for text in (str(raised.value), quoted):
        assert "CANARY" not in text
        assert "pw:/#" not in text
