"""Tickets from the team's own SQL database: SQLite, PostgreSQL, MySQL/MariaDB.

The source reads one table, view or query of tickets, and optionally a second
one of messages, each in keyset order from its own cursor (see keyset.py).
Columns are mapped onto tickets and messages by the same recognizer as file
ingest, and values such as priorities through tables in the config.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
import structlog
from pydantic import Field, model_validator

from supportpulse.config import Settings
from supportpulse.errors import (
    FatalSourceError,
    InputError,
    RecordError,
)
from supportpulse.ingest.flat import FlatMapping, flat_records
from supportpulse.ingest.flat_messages import detect_message_mapping, message_record
from supportpulse.logs import redact
from supportpulse.model import Batch, QuarantinedRecord
from supportpulse.sources.base import Cursor, Page, PullSource, SourceOptions
from supportpulse.sources.keyset import KeysetReader

log = structlog.get_logger("supportpulse.sources.database")


class MessageOptions(SourceOptions):
    """A second table or query with one row per message, joined by ticket id."""

    table: str | None = None
    query: str | None = None
    query_params: dict[str, Any] = Field(default_factory=dict)
    #: Message rows are often never edited, so their creation time orders them.
    updated_column: str = "created_at"
    key_column: str = "message_id"
    mappings: dict[str, str] = Field(default_factory=dict)
    #: Source author value -> customer, agent, bot or system.
    roles: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _table_or_query(self) -> MessageOptions:
        _one_of_table_or_query(self.table, self.query)
        return self


class DatabaseOptions(SourceOptions):
    """Which database, which table, and how its columns map onto tickets."""

    url: str
    #: Kept out of `url`, where '@', ':', '/' or '#' in it would split the URL
    #: in the wrong place; any characters work here, unencoded.
    password: str | None = None
    #: A table or view; or else `query`, a SELECT of your own.
    table: str | None = None
    query: str | None = None
    #: Values for `:name` parameters in `query`, always bound, never formatted in.
    query_params: dict[str, Any] = Field(default_factory=dict)
    updated_column: str = "updated_at"
    key_column: str = "ticket_id"
    mappings: dict[str, str] = Field(default_factory=dict)
    #: Per ticket field, source value -> stored value, e.g. priority P1 -> urgent.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    messages: MessageOptions | None = None
    batch_size: int = Field(default=5000, gt=0)
    lookback_s: float = Field(default=5.0, ge=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    #: A read that takes longer is cancelled and retried with backoff.
    statement_timeout_s: float = Field(default=120.0, gt=0)
    record_source: str | None = None

    @model_validator(mode="after")
    def _table_or_query(self) -> DatabaseOptions:
        _one_of_table_or_query(self.table, self.query)
        return self

    def files_read(self) -> list[Path]:
        # Only SQLite is a local file; a bad URL is reported when connecting.
        try:
            url = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError:
            return []
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return []
        return [Path(url.database)]


def _one_of_table_or_query(table: str | None, query: str | None) -> None:
    if (table is None) == (query is None):
        raise ValueError("give either table or query, not both or neither")


@dataclass
class DatabasePage(Page):
    """A page whose first `ticket_rows` records are tickets, the rest messages."""

    ticket_rows: int = 0
    #: Rows with no updated time, which the source sets aside.
    unordered_tickets: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    unordered_messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)


#: How many set-aside rows a source remembers so re-reads do not repeat them.
_REMEMBERED = 100_000


class DatabaseSource(PullSource):
    """Polls a ticket table, and optionally a message table, each by its own
    keyset cursor."""

    options_model = DatabaseOptions

    def __init__(self, name: str, options: DatabaseOptions, settings: Settings) -> None:
        super().__init__(name, options, settings)
        self.db = options
        self.record_source = options.record_source or name
        try:
            url = sa.make_url(options.url)
        except sa.exc.ArgumentError:
            raise FatalSourceError(
                f"source '{name}': url is not a database URL; use e.g. "
                "postgresql+psycopg://user@host/db or sqlite:///path"
            ) from None
        if options.password is not None:
            url = url.set(password=options.password)
        self._engine = sa.create_engine(
            url, pool_pre_ping=True, connect_args=_connect_args(url, options)
        )
        if url.get_backend_name() == "sqlite":
            sa.event.listen(self._engine, "connect", _read_only_sqlite)
        prefix = f"source '{name}': "
        self._tickets = KeysetReader(
            self._engine, prefix=prefix, label="", table=options.table,
            query=options.query, query_params=options.query_params,
            updated_column=options.updated_column, key_column=options.key_column,
            problem=self._problem,
        )  # fmt: skip
        self._messages: KeysetReader | None = None
        if options.messages is not None:
            wanted = options.messages
            self._messages = KeysetReader(
                self._engine, prefix=prefix, label="messages.", table=wanted.table,
                query=wanted.query, query_params=wanted.query_params,
                updated_column=wanted.updated_column, key_column=wanted.key_column,
                problem=self._problem,
            )  # fmt: skip
        self._mapping: FlatMapping | None = None
        self._message_mapping: FlatMapping | None = None
        self._set_aside_already: set[tuple[str, str, str | None]] = set()

    def _reflect(self) -> None:
        """Check names against the database and find each field's column."""
        columns = self._tickets.reflect(
            {f"mappings.{field}": column for field, column in self.db.mappings.items()}
        )
        overrides = {**self.settings.mappings, **self.db.mappings}
        self._mapping = self._detect(
            lambda: FlatMapping.detect(f"source '{self.name}'", columns, overrides)
        )
        if self._messages is None or self.db.messages is None:
            return
        mappings = self.db.messages.mappings
        columns = self._messages.reflect(
            {f"messages.mappings.{field}": column for field, column in mappings.items()}
        )
        self._message_mapping = self._detect(
            lambda: detect_message_mapping(
                f"source '{self.name}' messages", columns, mappings
            )
        )

    @staticmethod
    def _detect(detect: Callable[[], FlatMapping]) -> FlatMapping:
        try:
            return detect()
        except InputError as exc:
            raise FatalSourceError(str(exc)) from None

    def describe(self) -> dict[str, str]:
        """The column each ticket (and message) field is read from."""
        if self._mapping is None:
            self._reflect()
        assert self._mapping is not None
        described = dict(self._mapping.columns)
        if self._message_mapping is not None:
            described |= {
                f"messages.{field}": column
                for field, column in self._message_mapping.columns.items()
            }
        return described

    async def pull(self, cursor: Cursor | None) -> Page:
        return await asyncio.to_thread(self._pull, cursor)

    def _pull(self, cursor: Cursor | None) -> Page:
        if self._mapping is None:
            self._reflect()
        limit, lookback = self.db.batch_size, self.db.lookback_s
        if self._messages is None:
            page = self._tickets.read(cursor, limit, lookback)
            return DatabasePage(
                page.rows, page.cursor, page.newest, page.more,
                ticket_rows=len(page.rows), unordered_tickets=page.unordered,
            )  # fmt: skip

        # Each table keeps its own cursor; a cursor saved before messages
        # were configured is the tickets' one.
        cursors = cursor or {}
        if "updated" in cursors:
            cursors = {"tickets": cursors}
        tickets = self._tickets.read(cursors.get("tickets"), limit, lookback)
        messages = self._messages.read(cursors.get("messages"), limit, lookback)
        newest = max(
            (moment for moment in (tickets.newest, messages.newest) if moment),
            default=None,
        )
        return DatabasePage(
            tickets.rows + messages.rows,
            {"tickets": tickets.cursor, "messages": messages.cursor},
            newest,
            tickets.more or messages.more,
            ticket_rows=len(tickets.rows),
            unordered_tickets=tickets.unordered,
            unordered_messages=messages.unordered,
        )

    def _problem(self, exc: BaseException) -> str:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        password = self._engine.url.password
        if password:
            # Drivers may quote the connection string, percent-encoded or not.
            for shown in sorted({str(password), quote(str(password), safe="")}):
                text = text.replace(shown, "***")
        return str(redact(f"source '{self.name}': {text}"))

    def normalize(self, page: Page) -> Batch:
        batch = Batch()
        assert self._mapping is not None
        split = (
            page.ticket_rows if isinstance(page, DatabasePage) else len(page.records)
        )
        for record in page.records[:split]:
            for field, table in self.db.values.items():
                column = self._mapping.columns.get(field)
                if column is not None and str(record.get(column)) in table:
                    record[column] = table[str(record[column])]
            try:
                ticket, message = flat_records(
                    record, self._mapping, self.record_source, self.settings.zone
                )
            except RecordError as exc:
                batch.quarantined.append(self._quarantined(self.db.table, exc, record))
                continue
            batch.tickets.append(ticket)
            if message is not None:
                batch.messages.append(message)

        for record in page.records[split:]:
            assert self._message_mapping is not None
            assert self.db.messages is not None
            try:
                batch.messages.append(message_record(
                    record, self._message_mapping, self.record_source,
                    self.settings.zone, self.db.messages.roles,
                ))  # fmt: skip
            except RecordError as exc:
                where = self.db.messages.table or "messages query"
                batch.quarantined.append(self._quarantined(where, exc, record))

        if isinstance(page, DatabasePage):
            self._set_aside(batch, page.unordered_tickets, self.db.table,
                            self.db.updated_column, self.db.key_column)  # fmt: skip
            if self.db.messages is not None:
                wanted = self.db.messages
                self._set_aside(batch, page.unordered_messages,
                                wanted.table or "messages query",
                                wanted.updated_column, wanted.key_column)  # fmt: skip
        batch.quarantined = [
            record for record in batch.quarantined if self._first_time(record)
        ]
        return batch

    def _set_aside(
        self,
        batch: Batch,
        rows: list[dict[str, Any]],
        table: str | None,
        updated_column: str,
        key_column: str,
    ) -> None:
        for record in rows:
            reason = (
                f"{updated_column} is empty, so changes to this row cannot be "
                f"followed; {key_column} '{record.get(key_column)}'"
            )
            batch.quarantined.append(
                self._quarantined(table, RecordError(reason), record)
            )

    def _first_time(self, record: QuarantinedRecord) -> bool:
        """Whether this row was not set aside already: each pass re-reads the
        last seconds of rows, and a bad row must be listed once, not per pass."""
        seen = (record.file, record.reason, record.record)
        if seen in self._set_aside_already:
            return False
        if len(self._set_aside_already) >= _REMEMBERED:
            self._set_aside_already.clear()
        self._set_aside_already.add(seen)
        return True

    def _quarantined(
        self, table: str | None, exc: RecordError, record: dict[str, Any]
    ) -> QuarantinedRecord:
        return QuarantinedRecord(
            self.record_source, table or "query", None, exc.reason, str(record)[:2000]
        )

    async def close(self) -> None:
        self._engine.dispose()


def _connect_args(url: sa.URL, options: DatabaseOptions) -> dict[str, Any]:
    """Timeouts and a read-only session, as each driver spells them."""
    timeout = int(options.connect_timeout_s)
    statement_s = options.statement_timeout_s
    backend = url.get_backend_name()
    if backend == "postgresql":
        return {
            "connect_timeout": timeout,
            "options": "-c default_transaction_read_only=on "
            f"-c statement_timeout={int(statement_s * 1000)}",
        }
    if backend in ("mysql", "mariadb"):
        return {
            "connect_timeout": timeout,
            "read_timeout": int(statement_s),
            "init_command": "SET SESSION TRANSACTION READ ONLY",
        }
    if backend == "sqlite":
        return {"timeout": options.connect_timeout_s}
    return {}


def _read_only_sqlite(connection: Any, _record: Any) -> None:
    # SQLite has no read-only session; query_only refuses writes the same way.
    connection.execute("PRAGMA query_only = ON")
