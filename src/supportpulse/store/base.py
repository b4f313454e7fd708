"""What every store engine offers: migrations, batch upserts and SQL queries."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import pyarrow as pa
import structlog

from supportpulse.model import Batch
from supportpulse.store.columns import message_table, quarantine_table, ticket_table
from supportpulse.store.migrations import load_migrations
from supportpulse.store.url import StoreURL

log = structlog.get_logger("supportpulse.store")

_NAMED_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


def upsert_sql(
    table: str, columns: Sequence[str], staged: str, *, on_conflict: bool = False
) -> list[str]:
    """Statements merging staged rows into `table`: newest row per key wins.

    The newest staged row per key replaces a stored row that is older or as
    old and differs, so a corrected re-normalization lands while unchanged
    rows cost nothing. With `on_conflict` this is one INSERT ... ON CONFLICT,
    which is safe when several writers load the same keys at once
    (PostgreSQL); without it, an UPDATE then an INSERT of the new keys, which
    DuckDB runs several times faster for a bulk load.
    """
    names = ", ".join(columns)
    values = [column for column in columns if column not in ("source", "external_id")]
    newest = (
        f"(SELECT {names} FROM ("
        f"  SELECT *, row_number() OVER ("
        f"    PARTITION BY source, external_id ORDER BY updated_at DESC) AS newest"
        f"  FROM {staged}) AS ranked WHERE newest = 1)"
    )
    stored = ", ".join(f"{table}.{column}" for column in values)
    if on_conflict:
        incoming = ", ".join(f"excluded.{column}" for column in values)
        assignments = ", ".join(f"{column} = excluded.{column}" for column in values)
        return [
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {newest} AS r "
            f"ON CONFLICT (source, external_id) DO UPDATE SET {assignments} "
            f"WHERE excluded.updated_at >= {table}.updated_at "
            f"AND ({stored}) IS DISTINCT FROM ({incoming})"
        ]

    same_key = f"{table}.source = r.source AND {table}.external_id = r.external_id"
    incoming = ", ".join(f"r.{column}" for column in values)
    update = (
        f"UPDATE {table} SET {', '.join(f'{column} = r.{column}' for column in values)} "
        f"FROM {newest} AS r "
        f"WHERE {same_key} AND r.updated_at >= {table}.updated_at "
        f"AND ({stored}) IS DISTINCT FROM ({incoming})"
    )
    insert = (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {newest} AS r "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {same_key})"
    )
    return [update, insert]


def stale_tickets(
    tickets: pa.Table | None,
    messages: pa.Table | None,
    deleted: Sequence[tuple[str, str]] = (),
) -> pa.Table:
    """The distinct ticket keys a write touches, as `kpi_stale` rows: their
    reply facts must be derived again before the next KPI query."""
    parts = [
        pa.table(
            {
                "source": pa.array([key[0] for key in deleted], pa.string()),
                "ticket_external_id": pa.array(
                    [key[1] for key in deleted], pa.string()
                ),
            }
        )
    ]
    for rows, ticket_column in (
        (tickets, "external_id"),
        (messages, "ticket_external_id"),
    ):
        if rows is not None and rows.num_rows:
            parts.append(
                pa.table(
                    {
                        "source": rows["source"].cast(pa.string()),
                        "ticket_external_id": rows[ticket_column].cast(pa.string()),
                    }
                )
            )
    keys = pa.concat_tables(parts)
    return keys.group_by(["source", "ticket_external_id"]).aggregate([])


class Store(ABC):
    """A place tickets and messages live; one connection, used by one thread."""

    dialect: str

    def __init__(self, url: StoreURL) -> None:
        self.url = url

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement that returns nothing."""

    @abstractmethod
    def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query; return its column names and rows."""

    def write(self, batch: Batch, cursors: Mapping[str, str] | None = None) -> None:
        """Upsert a batch's tickets and messages, keep its quarantined records
        and save the source cursors covering them, all in one transaction."""
        self.write_tables(
            tickets=ticket_table(batch.tickets) if batch.tickets else None,
            messages=message_table(batch.messages) if batch.messages else None,
            quarantined=quarantine_table(batch.quarantined)
            if batch.quarantined
            else None,
            cursors=cursors,
            deleted=batch.deleted_tickets,
        )

    def write_tables(
        self,
        *,
        tickets: pa.Table | None = None,
        messages: pa.Table | None = None,
        quarantined: pa.Table | None = None,
        cursors: Mapping[str, str] | None = None,
        deleted: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Write Arrow tables in the store's column order in one transaction:
        tickets and messages are upserted, quarantined records appended, and
        each source's cursor (JSON text) saved; `deleted` tickets go first."""
        with self.transaction():
            self._delete_tickets(deleted)
            self._save_cursors(cursors)
            for table, rows in (("tickets", tickets), ("messages", messages)):
                if rows is not None and rows.num_rows:
                    self._merge(table, rows)
            stale = stale_tickets(tickets, messages, deleted)
            if stale.num_rows:
                self._append("kpi_stale", stale)
            if quarantined is not None and quarantined.num_rows:
                self._append("quarantine", quarantined)

    @abstractmethod
    def _merge(self, table: str, rows: pa.Table) -> None:
        """Upsert `rows` into `table`, the newest row per key winning."""

    @abstractmethod
    def _append(self, table: str, rows: pa.Table) -> None:
        """Insert `rows` into `table` as they are."""

    def _delete_tickets(self, keys: Sequence[tuple[str, str]]) -> None:
        """Remove tickets and their messages by key; call inside the
        transaction of their data. A source that moves messages to another
        ticket sends them again in the same batch, merged after this."""
        for source, external_id in keys:
            # Replies by id from this ticket to messages of others leave
            # those tickets' reply facts to re-derive.
            self.execute(
                "INSERT INTO kpi_stale (source, ticket_external_id)"
                " SELECT asked.source, asked.ticket_external_id FROM messages answer"
                " JOIN messages asked ON asked.source = answer.source"
                " AND asked.external_id = answer.reply_to"
                " WHERE answer.source = :source AND answer.ticket_external_id = :id",
                {"source": source, "id": external_id},
            )
            self.execute(
                "DELETE FROM tickets WHERE source = :source AND external_id = :id",
                {"source": source, "id": external_id},
            )
            self.execute(
                "DELETE FROM messages WHERE source = :source"
                " AND ticket_external_id = :id",
                {"source": source, "id": external_id},
            )

    def _save_cursors(self, cursors: Mapping[str, str] | None) -> None:
        """Record source cursors; call inside the transaction of their data."""
        now = datetime.now(UTC).replace(tzinfo=None)
        for name, cursor in (cursors or {}).items():
            self.execute(
                "DELETE FROM source_cursors WHERE source_name = :name", {"name": name}
            )
            self.execute(
                "INSERT INTO source_cursors (source_name, cursor, updated_at)"
                " VALUES (:name, :cursor, :now)",
                {"name": name, "cursor": cursor, "now": now},
            )

    def read_cursor(self, name: str) -> str | None:
        """The last committed cursor of a source, or None."""
        _, rows = self.fetch(
            "SELECT cursor FROM source_cursors WHERE source_name = :name",
            {"name": name},
        )
        return str(rows[0][0]) if rows else None

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager around one transaction."""

    def exclusive_transaction(self) -> Any:
        """A transaction that reads one snapshot and that one process at a
        time runs; with a single writer a plain transaction is that."""
        return self.transaction()

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def placeholders(self, sql: str) -> str:
        """Rewrite `:name` parameters into this engine's style."""
        return _NAMED_PARAM.sub(self._param_style, sql)

    @staticmethod
    @abstractmethod
    def _param_style(match: re.Match[str]) -> str: ...

    def migrate(self) -> list[int]:
        """Apply every migration not applied yet; return the versions applied."""
        with self.transaction():
            # Lock first: two processes creating the table at once collide.
            self._lock_for_migration()
            self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            _, rows = self.fetch("SELECT version FROM schema_migrations")
            done = {row[0] for row in rows}

            applied = []
            for migration in load_migrations(self.dialect):
                if migration.version in done:
                    continue
                for statement in migration.statements:
                    self.execute(statement)
                self.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (:v, :n)",
                    {"v": migration.version, "n": migration.name},
                )
                applied.append(migration.version)

        if applied:
            log.info("store_migrated", store=self.url.redacted(), versions=applied)
        return applied

    def analyze(self) -> None:  # noqa: B027 - only planners with statistics need it
        """Refresh the planner's statistics after a bulk load."""

    def analyze_table(self, name: str) -> None:  # noqa: B027 - as analyze
        """Refresh the planner's statistics of one table, e.g. a scratch one."""

    def limit_memory(self, megabytes: int | None) -> None:  # noqa: B027 - servers manage their own
        """Cap the memory an embedded engine may use in this process; None
        restores the engine's default."""

    def _lock_for_migration(self) -> None:  # noqa: B027 - a no-op unless overridden
        """Serialize concurrent migrators; engines with one writer need nothing."""

    def count(self, table: str) -> int:
        """Rows in one of the store's own tables."""
        if table not in ("tickets", "messages", "quarantine"):
            raise ValueError(f"not a store table: {table}")
        _, rows = self.fetch(f"SELECT count(*) FROM {table}")
        return int(rows[0][0])

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
