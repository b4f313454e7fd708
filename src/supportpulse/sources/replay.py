"""Replay: any file `supportpulse ingest` reads, streamed in event-time order.

`speed` compresses time: 600 plays ten minutes of history per second; 0 plays
as fast as the engine takes it. `max_gap` cuts quiet spells: a file whose
records lie years apart still streams at once instead of waiting them out.
The cursor is the number of records already
delivered in event-time order, so a restarted replay continues where the
store's data stops.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from supportpulse.alerts.durations import Duration
from supportpulse.config import Settings
from supportpulse.errors import FatalSourceError, InputError, RecordError
from supportpulse.ingest.conversations import (
    ConversationTracker,
    tweet_from_row,
    tweet_from_values,
)
from supportpulse.ingest.flat import FlatMapping, flat_records
from supportpulse.ingest.rows import BadRow, Row, RowFile
from supportpulse.ingest.timestamps import parse_timestamp
from supportpulse.ingest.twcs import DEFAULT_SOURCE as TWCS_SOURCE
from supportpulse.ingest.twcs import TWCS_COLUMNS, is_twcs, parse_tweet
from supportpulse.model import Batch, QuarantinedRecord
from supportpulse.sources.base import Cursor, Page, PushSource, SourceOptions
from supportpulse.store import Store

#: At most this many records per page, so one burst never fills a batch alone.
PAGE_RECORDS = 1000


class ReplayOptions(SourceOptions):
    """Which file to replay, how fast, and under which record source name."""

    path: Path
    speed: float = Field(default=1.0, ge=0)
    #: The longest wall-clock wait between two records; None waits out every gap.
    max_gap: Duration | None = None
    record_source: str | None = None
    encoding: str | None = None
    mappings: dict[str, str] = Field(default_factory=dict)

    def files_read(self) -> list[Path]:
        return [self.path]


def wall_offsets(
    moments: list[datetime], speed: float, max_gap: timedelta | None
) -> list[float]:
    """Wall-clock seconds from the first moment to each: event time divided by
    `speed`, with every step between neighbours cut to at most `max_gap`."""
    if speed <= 0 or not moments:
        return [0.0] * len(moments)
    cap = max_gap.total_seconds() if max_gap is not None else float("inf")
    offsets, total = [0.0], 0.0
    for earlier, later in itertools.pairwise(moments):
        total += min((later - earlier).total_seconds() / speed, cap)
        offsets.append(total)
    return offsets


class ReplaySource(PushSource):
    """Streams a CSV or JSON Lines file's records in event-time order."""

    options_model = ReplayOptions

    def __init__(self, name: str, options: ReplayOptions, settings: Settings) -> None:
        super().__init__(name, options, settings)
        self.replay = options
        self._layout = ""
        self._record_source = ""
        self._mapping: FlatMapping | None = None
        self._tracker: ConversationTracker | None = None
        self._events: list[tuple[datetime, int, dict[str, Any]]] = []
        self._bad: list[BadRow] = []

    def _load(self) -> None:
        """Read the whole file and order it by event time."""
        options, settings = self.replay, self.settings
        encoding = options.encoding or settings.ingest.encoding
        try:
            with RowFile(
                options.path,
                encoding=encoding,
                max_field_size=settings.ingest.max_field_size,
            ) as rows_file:
                records = list(rows_file.rows())
                columns = rows_file.columns
        except InputError as exc:
            raise FatalSourceError(str(exc)) from None

        twcs = is_twcs(columns)
        self._layout = "twcs" if twcs else "flat"
        self._record_source = options.record_source or (
            TWCS_SOURCE if twcs else options.path.stem
        )
        if twcs:
            self._tracker = ConversationTracker(self._record_source)
        elif columns:
            overrides = {**settings.mappings, **options.mappings}
            try:
                self._mapping = FlatMapping.detect(options.path, columns, overrides)
            except InputError as exc:
                raise FatalSourceError(str(exc)) from None

        for record in records:
            if isinstance(record, BadRow):
                self._bad.append(record)
                continue
            try:
                moment = self._event_time(record)
            except RecordError as exc:
                self._bad.append(BadRow(record.line, exc.reason, None))
                continue
            self._events.append((moment, record.line, record.fields))
        self._events.sort(key=lambda event: (event[0], event[1]))

    def _event_time(self, row: Row) -> datetime:
        if self._layout == "twcs":
            return parse_tweet(row.fields)[3]  # type: ignore[no-any-return]
        assert self._mapping is not None
        column = self._mapping.columns["created_at"]
        return parse_timestamp(row.fields.get(column), self.settings.zone, column)

    def prime(self, store: Store) -> None:
        """Rebuild conversation state from the store before resuming."""
        self._load()
        if self._tracker is None:
            return
        names, rows = store.fetch(
            "SELECT external_id, reply_to, raw, created_at, author_role, author_id,"
            " body, sentiment FROM messages WHERE source = :source",
            {"source": self._record_source},
        )
        self._tracker.prime(
            tweet_from_row(dict(zip(names, row, strict=True))) for row in rows
        )

    async def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        if not self._layout:
            self._load()
        position = int((cursor or {}).get("position", 0))
        if position == 0 and self._bad:
            bad = [
                {"_line": row.line, "_bad": row.reason, "_record": row.record}
                for row in self._bad
            ]
            yield Page(bad, None)

        events = self._events
        if position >= len(events):
            return
        started_wall = time.monotonic()
        first = position
        offsets = wall_offsets(
            [event[0] for event in events[first:]],
            self.replay.speed,
            self.replay.max_gap,
        )
        while position < len(events):
            if self.replay.speed > 0:
                delay = offsets[position - first] - (time.monotonic() - started_wall)
                if delay > 0:
                    await asyncio.sleep(delay)
            due = self._due(position, first, offsets, started_wall)
            page = events[position:due]
            position = due
            yield Page(
                records=[{"_line": line, **fields} for _, line, fields in page],
                cursor={"position": position, "quarantined": True},
                newest=page[-1][0],
            )

    def _due(
        self, position: int, first: int, offsets: list[float], started_wall: float
    ) -> int:
        """The end of the page starting at `position`: every event due by now."""
        end = min(len(self._events), position + PAGE_RECORDS)
        if self.replay.speed == 0:
            return end
        elapsed = time.monotonic() - started_wall
        due = position + 1
        while due < end and offsets[due - first] <= elapsed:
            due += 1
        return due

    def normalize(self, page: Page) -> Batch:
        batch = Batch()
        tweets = []
        for record in page.records:
            line = record.pop("_line")
            if "_bad" in record:
                batch.quarantined.append(QuarantinedRecord(
                    self._record_source, str(self.replay.path), line, record["_bad"],
                    record.get("_record"),
                ))  # fmt: skip
                continue
            try:
                if self._tracker is not None:
                    raw = {name: record[name] for name in TWCS_COLUMNS}
                    tweets.append(tweet_from_values(parse_tweet(record), raw))
                    continue
                assert self._mapping is not None
                ticket, message = flat_records(
                    record, self._mapping, self._record_source, self.settings.zone
                )
            except RecordError as exc:
                batch.quarantined.append(QuarantinedRecord(
                    self._record_source, str(self.replay.path), line, exc.reason, None,
                ))  # fmt: skip
                continue
            batch.tickets.append(ticket)
            if message is not None:
                batch.messages.append(message)

        if self._tracker is not None and tweets:
            found = self._tracker.add(tweets)
            batch.tickets.extend(found.tickets)
            batch.messages.extend(found.messages)
            batch.deleted_tickets.extend(found.deleted_tickets)
        return batch
