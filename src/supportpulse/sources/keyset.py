"""Reading a table or query in keyset order of (updated-at column, key).

Rows sharing a timestamp are never skipped or repeated within a pass, because
the key breaks the tie. Once caught up, the next pass starts `lookback`
seconds behind the newest row read, where rows committed late with an older
timestamp may still appear; the store's idempotent upsert makes those
re-reads free of doubles. Names must exist in the reflected schema and are
quoted by the dialect, so configuration can never smuggle SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from supportpulse.errors import FatalSourceError, RetriableSourceError
from supportpulse.sources.base import Cursor


@dataclass
class KeysetPage:
    """Rows read in one step and the cursor after them."""

    rows: list[dict[str, Any]]
    cursor: Cursor | None
    newest: datetime | None
    more: bool
    #: Rows without an updated time: they have no place in the order, so they
    #: cannot be followed; read once caught up, for the source to set aside.
    unordered: list[dict[str, Any]] = field(default_factory=list)


class KeysetReader:
    """One relation of a source's database, read a page at a time."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        prefix: str,
        label: str,
        table: str | None,
        query: str | None,
        query_params: Mapping[str, Any],
        updated_column: str,
        key_column: str,
        problem: Any,
    ) -> None:
        self.engine = engine
        #: Starts every error, e.g. "source 'helpdesk': ".
        self.prefix = prefix
        #: The options' key prefix, "" for tickets or "messages." for messages.
        self.label = label
        self.table = table
        self.query = query
        self.query_params = dict(query_params)
        self.updated_column = updated_column
        self.key_column = key_column
        #: Turns a driver exception into one redacted line for the status.
        self._problem = problem
        self.what = ""
        self.columns: list[str] = []
        self._select: sa.Select[Any] | None = None

    @property
    def reflected(self) -> bool:
        return self._select is not None

    def reflect(self, wanted: Mapping[str, str]) -> list[str]:
        """Check every configured name against the database; build the query.

        `wanted` maps the option that named a column (for the error) to it.
        """
        source = self._query_source() if self.query else self._table_source()
        columns = list(source.c.keys())
        required = {
            f"{self.label}updated_column": self.updated_column,
            f"{self.label}key_column": self.key_column,
            **wanted,
        }
        for option, column in required.items():
            if column not in columns:
                raise FatalSourceError(
                    f"{self.prefix}{option} '{column}' is not a column of {self.what}; "
                    f"columns are: {', '.join(columns)}"
                )
        self.columns = columns
        self._updated = source.c[self.updated_column]
        self._key = source.c[self.key_column]
        self._select = sa.select(source).order_by(self._updated, self._key)
        return columns

    def _table_source(self) -> sa.TableClause:
        table = self.table or ""
        self.what = f"table '{table}'"
        try:
            inspector = sa.inspect(self.engine)
            names = inspector.get_table_names() + inspector.get_view_names()
        except sa.exc.OperationalError as exc:
            raise RetriableSourceError(self._problem(exc)) from exc
        if table not in names:
            raise FatalSourceError(
                f"{self.prefix}{self.label}table '{table}' does not exist; "
                f"tables are: {', '.join(sorted(names)) or 'none'}"
            )
        columns = [column["name"] for column in inspector.get_columns(table)]
        return sa.table(table, *(sa.column(name) for name in columns))

    def _query_source(self) -> sa.Subquery:
        """The user's SELECT as a subquery; its columns found by running it once
        with no rows wanted."""
        self.what = "the messages query" if self.label else "the query"
        text = sa.text(self.query or "").bindparams(**self.query_params)
        probe = (
            sa.select(sa.text("*"))
            .select_from(text.columns().subquery("probe"))
            .limit(0)
        )
        try:
            with self.engine.connect() as connection:
                columns = list(connection.execute(probe).keys())
        except sa.exc.OperationalError as exc:
            raise RetriableSourceError(self._problem(exc)) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise FatalSourceError(self._problem(exc)) from exc
        return text.columns(*(sa.column(name) for name in columns)).subquery("rows")

    def read(self, cursor: Cursor | None, limit: int, lookback_s: float) -> KeysetPage:
        """At most `limit` rows after `cursor`, in keyset order."""
        assert self._select is not None, "reflect() first"
        query = self._select.where(self._updated.is_not(None))
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
        records = self._fetch(query.limit(limit))
        if not records:
            unordered = self._unordered(limit)
            if cursor and cursor.get("key") is not None:
                # The last page ended exactly full: look back from here too.
                behind = _behind(_decode(cursor["updated"]), lookback_s)
                cursor = {"updated": _encode(behind), "key": None}
            return KeysetPage([], cursor, None, more=False, unordered=unordered)
        last = records[-1]
        newest = _moment(last[self.updated_column])
        more = len(records) == limit
        following: Cursor
        if more:
            following = {
                "updated": _encode(last[self.updated_column]),
                "key": _encode(last[self.key_column]),
            }
        else:
            # Caught up: start the next pass a little behind, where rows
            # committed late with an older timestamp may still appear.
            behind = _behind(last[self.updated_column], lookback_s)
            following = {"updated": _encode(behind), "key": None}
        unordered = [] if more else self._unordered(limit)
        return KeysetPage(records, following, newest, more, unordered)

    def _unordered(self, limit: int) -> list[dict[str, Any]]:
        assert self._select is not None
        return self._fetch(self._select.where(self._updated.is_(None)).limit(limit))

    def _fetch(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).mappings().all()
        except sa.exc.OperationalError as exc:
            raise RetriableSourceError(self._problem(exc)) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise FatalSourceError(self._problem(exc)) from exc
        return [dict(row) for row in rows]


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
    """`value` moved back by `seconds`, in the same type and layout; a value
    that is no time at all (a version number, say) stays where it is."""
    if isinstance(value, datetime):
        return value - timedelta(seconds=seconds)
    if isinstance(value, int | float) and not isinstance(value, bool):
        scale = 1000 if abs(value) >= _EPOCH_MILLISECONDS_FROM else 1
        return value - type(value)(seconds * scale)
    text = str(value)
    try:
        moved = datetime.fromisoformat(text) - timedelta(seconds=seconds)
    except ValueError:
        return value
    spelled = moved.isoformat(sep=text[10] if len(text) > 10 else " ")
    return spelled if "." in text else spelled[:19]


#: Epoch values above this are milliseconds (it is year 5138 in seconds).
_EPOCH_MILLISECONDS_FROM = 1e11


def _moment(value: Any) -> datetime | None:
    """An updated-at value as naive UTC for lag and status, if it is a time.

    Drivers return aware datetimes for time-zone columns, naive ones for
    plain timestamps, text for SQLite, and numbers for epoch columns.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= _EPOCH_MILLISECONDS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return _moment(datetime.fromisoformat(str(value)))
    except ValueError:
        return None
