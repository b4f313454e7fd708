"""The embedded store: one DuckDB file, no server."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from supportpulse.errors import StoreError, first_line
from supportpulse.store.base import Store, upsert_sql
from supportpulse.store.url import StoreURL


class DuckDBStore(Store):
    """Tickets and messages in a local DuckDB file."""

    dialect = "duckdb"

    def __init__(
        self, url: StoreURL, *, shared: bool = False, lock_wait_s: float = 10.0
    ) -> None:
        """Open the file; with `shared` only for each transaction or query.

        DuckDB lets one process hold a file at a time. A shared store (the
        live engine's) lets go between batches, so `supportpulse kpis` and
        friends can read meanwhile; both sides wait up to `lock_wait_s` for
        the other to let go.
        """
        super().__init__(url)
        self.shared = shared
        self.lock_wait_s = lock_wait_s
        try:
            if url.target != ":memory:":
                Path(url.target).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for store file {url.target}: "
                f"{exc.strerror or exc}; pass a --store path in a writable folder"
            ) from None
        self._con: duckdb.DuckDBPyConnection | None = None
        #: Kept so a shared store's later connections get the same cap.
        self._memory_limit_mb: int | None = None
        self._con = self._connect()
        if shared and url.target != ":memory:":
            self._release()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            try:
                connection = duckdb.connect(self.url.target)
                if self._memory_limit_mb is not None:
                    connection.execute(
                        f"SET memory_limit = '{self._memory_limit_mb}MB'"
                    )
                return connection
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise StoreError(
                        f"cannot open store file {self.url.target}: {first_line(exc)}; "
                        "if another supportpulse process holds it, stop that process "
                        "or pass another --store"
                    ) from None
                time.sleep(0.05)
            except duckdb.Error as exc:
                raise StoreError(
                    f"cannot open store file {self.url.target}: {first_line(exc)}"
                ) from None

    def _release(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open connection, or one opened for this use alone."""
        if self._con is not None:
            yield self._con
            return
        self._con = self._connect()
        try:
            yield self._con
        finally:
            self._release()

    @staticmethod
    def _param_style(match: re.Match[str]) -> str:
        return f"${match[1]}"

    def limit_memory(self, megabytes: int | None) -> None:
        self._memory_limit_mb = None if megabytes is None else int(megabytes)
        if megabytes is None:
            self.execute("RESET memory_limit")
        else:
            self.execute(f"SET memory_limit = '{int(megabytes)}MB'")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params)

    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._connection():
            cursor = self._run(sql, params)
            names = [column[0] for column in cursor.description or []]
            return names, cursor.fetchall()

    def _run(
        self, sql: str, params: Mapping[str, Any] | None
    ) -> duckdb.DuckDBPyConnection:
        with self._connection() as con:
            try:
                return con.execute(self.placeholders(sql), dict(params or {}))
            except duckdb.Error as exc:
                raise StoreError(f"store query failed: {first_line(exc)}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._connection() as con:
            con.begin()
            try:
                yield
            except BaseException:
                con.rollback()
                raise
            con.commit()

    def _merge(self, table: str, rows: pa.Table) -> None:
        self._from_arrow(rows, *upsert_sql(table, rows.column_names, "staged_rows"))

    def _append(self, table: str, rows: pa.Table) -> None:
        names = ", ".join(rows.column_names)
        self._from_arrow(
            rows, f"INSERT INTO {table} ({names}) SELECT {names} FROM staged_rows"
        )

    def _from_arrow(self, rows: pa.Table, *statements: str) -> None:
        with self._connection() as con:
            con.register("staged_rows", rows)
            try:
                for statement in statements:
                    self.execute(statement)
            finally:
                # In a failed transaction unregister fails too; the first
                # error is the one worth reporting.
                with contextlib.suppress(duckdb.Error):
                    con.unregister("staged_rows")

    def close(self) -> None:
        self._release()
