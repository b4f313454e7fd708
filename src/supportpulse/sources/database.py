"""Tickets from the team's own SQL database: SQLite, PostgreSQL, MySQL/MariaDB.

The source reads one table or view in keyset order of (updated-at column,
primary key), so rows sharing a timestamp are never skipped or repeated
within a pass. Rows committed late with a timestamp just behind the cursor
are caught by re-reading the last `lookback` of time once caught up; the
store's idempotent upsert makes those re-reads free of doubles. Table and
column names must exist in the reflected schema and are quoted by the
dialect, so configuration can never smuggle SQL.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from pydantic import Field, model_validator

from supportpulse.config import Settings
from supportpulse.errors import (
    FatalSourceError,
    InputError,
    RecordError,
    RetriableSourceError,
)
from supportpulse.ingest.flat import FlatMapping, flat_records
from supportpulse.logs import redact
from supportpulse.model import Batch, QuarantinedRecord
from supportpulse.sources.base import Cursor, Page, PullSource, SourceOptions

log = structlog.get_logger("supportpulse.sources.database")


class DatabaseOptions(SourceOptions):
    """Which database, which table, and how its columns map onto tickets."""

    url: str
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
    batch_size: int = Field(default=5000, gt=0)
    lookback_s: float = Field(default=5.0, ge=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    record_source: str | None = None

    @model_validator(mode="after")
    def _table_or_query(self) -> DatabaseOptions:
        if (self.table is None) == (self.query is None):
            raise ValueError("give either table or query, not both or neither")
        return self


class DatabaseSource(PullSource):
    """Polls a table in (updated_at, key) order from a cursor."""

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
        self._engine = sa.create_engine(
            url, pool_pre_ping=True, connect_args=_connect_args(url, options)
        )
        self._select: sa.Select[Any] | None = None
        self._what = ""
        self._columns: list[str] = []
        self._mapping: FlatMapping | None = None

    def _reflect(self) -> None:
        """Check names against the database, then build the keyset query."""
        source = self._query_source() if self.db.query else self._table_source()
        columns = list(source.c.keys())
        wanted = {
            "updated_column": self.db.updated_column,
            "key_column": self.db.key_column,
            **{
                f"mappings.{field}": column
                for field, column in self.db.mappings.items()
            },
        }
        for key, column in wanted.items():
            if column not in columns:
                raise FatalSourceError(
                    f"source '{self.name}': {key} '{column}' is not a column of "
                    f"{self._what}; columns are: {', '.join(columns)}"
                )
        self._columns = columns
        self._updated = source.c[self.db.updated_column]
        self._key = source.c[self.db.key_column]
        self._select = sa.select(source).order_by(self._updated, self._key)
        overrides = {**self.settings.mappings, **self.db.mappings}
        try:
            self._mapping = FlatMapping.detect(
                f"source '{self.name}'", columns, overrides
            )
        except InputError as exc:
            raise FatalSourceError(str(exc)) from None

    def _table_source(self) -> sa.TableClause:
        table = self.db.table or ""
        self._what = f"table '{table}'"
        try:
            inspector = sa.inspect(self._engine)
            names = inspector.get_table_names() + inspector.get_view_names()
        except sa.exc.OperationalError as exc:
            raise RetriableSourceError(self._problem(exc)) from exc
        if table not in names:
            raise FatalSourceError(
                f"source '{self.name}': table '{table}' does not exist; "
                f"tables are: {', '.join(sorted(names)) or 'none'}"
            )
        columns = [column["name"] for column in inspector.get_columns(table)]
        return sa.table(table, *(sa.column(name) for name in columns))

    def _query_source(self) -> sa.Subquery:
        """The user's SELECT as a subquery; its columns found by running it once
        with no rows wanted."""
        self._what = "the query"
        text = sa.text(self.db.query or "").bindparams(**self.db.query_params)
        probe = (
            sa.select(sa.text("*"))
            .select_from(text.columns().subquery("probe"))
            .limit(0)
        )
        try:
            with self._engine.connect() as connection:
                columns = list(connection.execute(probe).keys())
        except sa.exc.OperationalError as exc:
            raise RetriableSourceError(self._problem(exc)) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise FatalSourceError(self._problem(exc)) from exc
        return text.columns(*(sa.column(name) for name in columns)).subquery("rows")

    def describe(self) -> dict[str, str]:
        """The column each ticket field is read from."""
        if self._mapping is None:
            self._reflect()
        assert self._mapping is not None
        return dict(self._mapping.columns)

    async def pull(self, cursor: Cursor | None) -> Page:
        return await asyncio.to_thread(self._pull, cursor)

    def _pull(self, cursor: Cursor | None) -> Page:
        if self._select is None:
            self._reflect()
        assert self._select is not None
        query = self._select
        if cursor and cursor.get("key") is None:
            query = query.where(self._updated >= _decode(cursor["updated"]))
        elif cursor:
            after = _decode(cursor["updated"])
            query = query.where(
                sa.or_(
                    self._updated > after,
                    sa.and_(self._updated == after, self._key > _decode(cursor["key"])),
                )
            )
        try:
            with self._engine.connect() as connection:
                rows = (
                    connection.execute(query.limit(self.db.batch_size)).mappings().all()
                )
        except sa.exc.OperationalError as exc:
            raise RetriableSourceError(self._problem(exc)) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise FatalSourceError(self._problem(exc)) from exc

        records = [dict(row) for row in rows]
        if not records:
            return Page([], cursor, more=False)
        last = records[-1]
        newest = _as_datetime(last[self.db.updated_column])
        more = len(records) == self.db.batch_size
        following: Cursor
        if more:
            following = {
                "updated": _encode(last[self.db.updated_column]),
                "key": _encode(last[self.db.key_column]),
            }
        else:
            # Caught up: start the next pass a little behind, where rows
            # committed late with an older timestamp may still appear.
            behind = _behind(last[self.db.updated_column], self.db.lookback_s)
            following = {"updated": _encode(behind), "key": None}
        return Page(records, following, newest=newest, more=more)

    def _problem(self, exc: BaseException) -> str:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        url = self._engine.url
        if url.password:
            text = text.replace(str(url.password), "***")
        return str(redact(f"source '{self.name}': {text}"))

    def normalize(self, page: Page) -> Batch:
        batch = Batch()
        assert self._mapping is not None
        for record in page.records:
            for field, table in self.db.values.items():
                column = self._mapping.columns.get(field)
                if column is not None and str(record.get(column)) in table:
                    record[column] = table[str(record[column])]
            try:
                ticket, message = flat_records(
                    record, self._mapping, self.record_source, self.settings.zone
                )
            except RecordError as exc:
                batch.quarantined.append(QuarantinedRecord(
                    self.record_source, self.db.table or "query", None, exc.reason,
                    str(record)[:2000],
                ))  # fmt: skip
                continue
            batch.tickets.append(ticket)
            if message is not None:
                batch.messages.append(message)
        return batch

    async def close(self) -> None:
        self._engine.dispose()


def _encode(value: Any) -> dict[str, Any]:
    """A cursor value kept in the type the database returned, so it binds
    back exactly: SQLite returns text timestamps, which compare as text."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, int | float | str):
        return {type(value).__name__: value}
    return {"str": str(value)}


def _decode(encoded: dict[str, Any]) -> Any:
    ((kind, value),) = encoded.items()
    return datetime.fromisoformat(value) if kind == "datetime" else value


def _behind(value: Any, seconds: float) -> Any:
    """`value` moved back by `seconds`, in the same type and text layout."""
    moved = _as_datetime(value) - timedelta(seconds=seconds)
    if isinstance(value, datetime):
        return moved
    text = str(value)
    spelled = moved.isoformat(sep=text[10] if len(text) > 10 else " ")
    return spelled if "." in text else spelled[:19]


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _connect_args(url: sa.URL, options: DatabaseOptions) -> dict[str, Any]:
    timeout = options.connect_timeout_s
    backend = url.get_backend_name()
    if backend == "postgresql":
        return {
            "connect_timeout": int(timeout),
            "options": "-c default_transaction_read_only=on",
        }
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": int(timeout), "read_timeout": 60}
    if backend == "sqlite":
        return {"timeout": timeout}
    return {}
