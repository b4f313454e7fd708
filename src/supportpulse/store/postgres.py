"""The shared store: PostgreSQL, for several processes and long-lived data."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa

from supportpulse.errors import StoreError, first_line
from supportpulse.store.base import Store, upsert_sql
from supportpulse.store.url import StoreURL

# Any constants work; each only has to be the same for every supportpulse process.
_MIGRATION_LOCK = 0x5350_0001
#: Held by the process refreshing derived tables (see exclusive_transaction).
EXCLUSIVE_LOCK = 0x5350_0002


class PostgresStore(Store):
    """Tickets and messages in a PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, url: StoreURL) -> None:
        super().__init__(url)
        try:
            self._con = psycopg.connect(url.target, autocommit=True, connect_timeout=10)
        except (psycopg.Error, ValueError) as exc:
            reason = _mask_password(first_line(exc), url.password)
            raise StoreError(
                f"cannot connect to store {url.redacted()}: {reason}; "
                "check that PostgreSQL runs, the URL's user and database exist, "
                "and special characters in the password are percent-encoded"
            ) from None

    @staticmethod
    def _param_style(match: re.Match[str]) -> str:
        return f"%({match[1]})s"

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params)

    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._run(sql, params)
        names = [column.name for column in cursor.description or []]
        return names, cursor.fetchall()

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> psycopg.Cursor[Any]:
        # Queries are built from the store's own SQL, never from input values,
        # which always travel as parameters.
        query = self.placeholders(sql).encode()
        try:
            return self._con.execute(query, dict(params) if params else None)
        except psycopg.Error as exc:
            raise StoreError(f"store query failed: {first_line(exc)}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._con.transaction():
            yield

    @contextmanager
    def exclusive_transaction(self) -> Iterator[None]:
        # The lock is taken before the transaction begins, so its snapshot is
        # taken after the previous holder committed; writers are not blocked
        # and what they commit meanwhile waits for the next holder.
        self.execute("SELECT pg_advisory_lock(:key)", {"key": EXCLUSIVE_LOCK})
        try:
            with self._con.transaction():
                self.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield
        finally:
            # A lost connection has released the lock with the session.
            with contextlib.suppress(StoreError):
                self.execute("SELECT pg_advisory_unlock(:key)", {"key": EXCLUSIVE_LOCK})

    def analyze(self) -> None:
        # Without fresh statistics after a bulk load the planner picks nested
        # loops for the KPI joins and a query over 20k rows takes a minute.
        self.execute("ANALYZE tickets")
        self.execute("ANALYZE messages")

    def analyze_table(self, name: str) -> None:
        if not name.isidentifier():
            raise ValueError(f"not a table name: {name}")
        self.execute(f"ANALYZE {name}")

    def _lock_for_migration(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _MIGRATION_LOCK})

    def _merge(self, table: str, rows: pa.Table) -> None:
        self.execute(f"CREATE TEMP TABLE staged_rows (LIKE {table}) ON COMMIT DROP")
        self._copy("staged_rows", rows)
        for statement in upsert_sql(
            table, rows.column_names, "staged_rows", on_conflict=True
        ):
            self.execute(statement)
        self.execute("DROP TABLE staged_rows")

    def _append(self, table: str, rows: pa.Table) -> None:
        self._copy(table, rows)

    def _copy(self, table: str, rows: pa.Table) -> None:
        statement = f"COPY {table} ({', '.join(rows.column_names)}) FROM STDIN"
        try:
            with self._con.cursor().copy(statement.encode()) as copy:
                for chunk in rows.to_batches(max_chunksize=10000):
                    columns = [column.to_pylist() for column in chunk.columns]
                    for row in zip(*columns, strict=True):
                        copy.write_row(row)
        except psycopg.Error as exc:
            raise StoreError(f"store write failed: {first_line(exc)}") from exc

    def close(self) -> None:
        self._con.close()


def _mask_password(text: str, password: str | None) -> str:
    """Mask the password, and any piece of it a URL parser split off, in text.

    libpq may read an unencoded '@', '#', '?' or '/' in a password as the end
    of the user part and quote the rest back as a host name.
    """
    if not password:
        return text
    pieces = [password, *re.split(r"[@#?/:]", password)]
    for piece in sorted(pieces, key=len, reverse=True):
        if len(piece) >= 2:
            text = text.replace(piece, "***")
    return text
