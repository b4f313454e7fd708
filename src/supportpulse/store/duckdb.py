"""The embedded store: one DuckDB file, no server."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
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

    def __init__(self, url: StoreURL) -> None:
        super().__init__(url)
        try:
            if url.target != ":memory:":
                Path(url.target).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the folder for store file {url.target}: "
                f"{exc.strerror or exc}; pass a --store path in a writable folder"
            ) from None
        try:
            self._con = duckdb.connect(url.target)
        except duckdb.IOException as exc:
            raise StoreError(
                f"cannot open store file {url.target}: {first_line(exc)}; "
                "if another supportpulse process holds it, stop that process "
                "or pass another --store"
            ) from None
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open store file {url.target}: {first_line(exc)}"
            ) from None

    @staticmethod
    def _param_style(match: re.Match[str]) -> str:
        return f"${match[1]}"

    def limit_memory(self, megabytes: int | None) -> None:
        if megabytes is None:
            self.execute("RESET memory_limit")
        else:
            self.execute(f"SET memory_limit = '{int(megabytes)}MB'")

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params)

    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self._run(sql, params)
        names = [column[0] for column in cursor.description or []]
        return names, cursor.fetchall()

    def _run(
        self, sql: str, params: Mapping[str, Any] | None
    ) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(self.placeholders(sql), dict(params or {}))
        except duckdb.Error as exc:
            raise StoreError(f"store query failed: {first_line(exc)}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._con.begin()
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        self._con.commit()

    def write_tables(
        self,
        *,
        tickets: pa.Table | None = None,
        messages: pa.Table | None = None,
        quarantined: pa.Table | None = None,
        cursors: Mapping[str, str] | None = None,
        deleted: Sequence[tuple[str, str]] = (),
    ) -> None:
        with self.transaction():
            self._delete_tickets(deleted)
            self._save_cursors(cursors)
            for table, rows in (("tickets", tickets), ("messages", messages)):
                if rows is not None and rows.num_rows:
                    merge = upsert_sql(table, rows.column_names, "staged_rows")
                    self._from_arrow(rows, *merge)
            if quarantined is not None and quarantined.num_rows:
                names = ", ".join(quarantined.column_names)
                self._from_arrow(
                    quarantined,
                    f"INSERT INTO quarantine ({names}) SELECT {names} FROM staged_rows",
                )

    def _from_arrow(self, rows: pa.Table, *statements: str) -> None:
        self._con.register("staged_rows", rows)
        try:
            for statement in statements:
                self.execute(statement)
        finally:
            # In a failed transaction unregister fails too; the first error
            # is the one worth reporting.
            with contextlib.suppress(duckdb.Error):
                self._con.unregister("staged_rows")

    def close(self) -> None:
        self._con.close()
