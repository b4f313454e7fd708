"""PostgreSQL tables that announce their changes with LISTEN/NOTIFY.

A statement trigger sends a notification on insert and update; the source
then reads by the same keyset cursor as the polling database source, so a
lost notification costs latency, never data.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from pydantic import Field

from supportpulse.config import Settings
from supportpulse.errors import FatalSourceError, RetriableSourceError
from supportpulse.model import Batch
from supportpulse.sources.base import Cursor, Page, PushSource
from supportpulse.sources.database import DatabaseOptions, DatabaseSource


class NotifyOptions(DatabaseOptions):
    """A PostgreSQL table whose trigger sends NOTIFY on insert and update."""

    channel: str = Field(
        default="supportpulse_tickets", pattern=r"^[a-z_][a-z0-9_]{0,40}$"
    )
    #: Read anyway after this long without a notification.
    safety_net_s: float = Field(default=60.0, gt=0)


class NotifyingDatabaseSource(PushSource):
    """PostgreSQL with LISTEN/NOTIFY: reads as soon as a row changes.

    The trigger only says "something changed"; the rows are still read by the
    same keyset cursor, so a lost notification costs latency, never data. The
    source also reads every `interval` without one, as a safety net.
    """

    options_model = NotifyOptions

    def __init__(self, name: str, options: NotifyOptions, settings: Settings) -> None:
        super().__init__(name, options, settings)
        self.notify = options
        self.reader = DatabaseSource(name, options, settings)

    async def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        url = self.reader._engine.url.set(drivername="postgresql")
        try:
            listener = await psycopg.AsyncConnection.connect(
                url.render_as_string(hide_password=False), autocommit=True,
                connect_timeout=int(self.notify.connect_timeout_s),
            )  # fmt: skip
        except psycopg.OperationalError as exc:
            raise RetriableSourceError(self.reader._problem(exc)) from exc
        async with listener:
            await listener.execute(f"LISTEN {self.notify.channel}")
            while True:
                page = await self.reader.pull(cursor)
                if page.records:
                    cursor = page.cursor
                    yield page
                if page.more:
                    continue
                await _next_notification(listener, self.notify.safety_net_s)

    def normalize(self, page: Page) -> Batch:
        return self.reader.normalize(page)

    def describe(self) -> dict[str, str]:
        """The column each ticket field is read from."""
        return self.reader.describe()

    def trigger_sql(self) -> str:
        """The trigger to install, for a table checked against the schema."""
        if self.notify.table is None:
            raise FatalSourceError(
                f"source '{self.name}': a trigger needs a table, not a query; "
                "name the table the query reads"
            )
        self.reader.describe()
        return notify_trigger_sql(self.notify.table, self.notify.channel)

    def install_trigger(self) -> None:
        """Create the trigger; needs a role allowed to change the table."""
        sql = self.trigger_sql()
        url = self.reader._engine.url.set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False),
                             autocommit=True) as connection:  # fmt: skip
            connection.execute(sql.encode())

    async def close(self) -> None:
        await self.reader.close()


async def _next_notification(
    listener: psycopg.AsyncConnection[Any], wait_s: float
) -> None:
    """Return on the next notification, or after `wait_s` without one."""
    try:
        async with asyncio.timeout(wait_s):
            async for _ in listener.notifies():
                return
    except TimeoutError:
        return
    except psycopg.OperationalError as exc:
        raise RetriableSourceError(f"LISTEN connection lost: {exc}") from exc


def notify_trigger_sql(table: str, channel: str) -> str:
    """The trigger that makes a PostgreSQL table announce inserts and updates.

    `table` must be a validated, existing name; it is quoted as an identifier.
    """
    quoted = '"' + table.replace('"', '""') + '"'
    function = f"supportpulse_notify_{channel}"
    return (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$\n"
        f"BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END;\n"
        "$$ LANGUAGE plpgsql;\n"
        f"DROP TRIGGER IF EXISTS {function} ON {quoted};\n"
        f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE ON {quoted}\n"
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
    )
