"""Ingesting one file: recognize its layout, normalize, batch into the store."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from supportpulse.config import Settings
from supportpulse.errors import InputError, RecordError
from supportpulse.ingest.flat import FlatMapping, flat_records
from supportpulse.ingest.rows import BadRow, Row, RowFile
from supportpulse.ingest.twcs import DEFAULT_SOURCE as TWCS_SOURCE
from supportpulse.ingest.twcs import ConversationBuilder, is_twcs
from supportpulse.model import Batch, QuarantinedRecord
from supportpulse.store import Store

log = structlog.get_logger("supportpulse.ingest")


@dataclass
class IngestSummary:
    """What one file contributed, for the user and for logs."""

    file: str
    layout: str = ""
    source: str = ""
    rows: int = 0
    tickets: int = 0
    messages: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestOptions:
    """Per-run choices from the command line."""

    source: str | None = None
    encoding: str | None = None
    mappings: Mapping[str, str] = field(default_factory=dict)


def ingest_file(
    path: Path, store: Store, settings: Settings, options: IngestOptions
) -> IngestSummary:
    """Read one CSV or JSON Lines file into the store; bad rows go to quarantine.

    Large twcs files score sentiment in spawned worker processes, so a script
    calling this must guard its entry point with `if __name__ == "__main__":`.
    """
    started = time.perf_counter()
    summary = IngestSummary(file=str(path))
    store.limit_memory(settings.ingest.memory_limit_mb // 2)
    try:
        return _ingest(path, store, settings, options, started, summary)
    finally:
        store.limit_memory(None)


def _ingest(
    path: Path,
    store: Store,
    settings: Settings,
    options: IngestOptions,
    started: float,
    summary: IngestSummary,
) -> IngestSummary:
    encoding = options.encoding or settings.ingest.encoding
    limit = settings.ingest.max_field_size
    # Quarantine describes the latest reading of each file, so reading a file
    # again replaces its bad rows instead of listing them twice.
    store.execute(
        "DELETE FROM quarantine WHERE file = :file", {"file": quarantine_name(path)}
    )

    with RowFile(path, encoding=encoding, max_field_size=limit) as rows_file:
        records = rows_file.rows()
        # JSON Lines name their fields in the records, so look at the first
        # good one before choosing the layout.
        lead = list(_through_first_good(records))
        if not lead:
            raise InputError(f"{path}: no records found after the header")
        stream = itertools.chain(lead, records)

        if is_twcs(rows_file.columns):
            summary.layout = "twcs"
            summary.source = options.source or TWCS_SOURCE
            _ingest_twcs(path, stream, store, settings, summary)
        else:
            summary.layout = "flat"
            summary.source = options.source or path.stem
            overrides = {**settings.mappings, **options.mappings}
            per_record = rows_file.format == "jsonl"
            _ingest_flat(path, stream, store, settings, summary, overrides, per_record)

    summary.seconds = time.perf_counter() - started
    log.info(
        "file_ingested", file=str(path), layout=summary.layout, source=summary.source,
        rows=summary.rows, tickets=summary.tickets, messages=summary.messages,
        quarantined=summary.quarantined, seconds=round(summary.seconds, 3),
    )  # fmt: skip
    return summary


def quarantine_name(path: Path) -> str:
    """How quarantine names a file: its absolute path, however it was typed."""
    return str(path.resolve())


def _through_first_good(records: Iterator[Row | BadRow]) -> Iterator[Row | BadRow]:
    for record in records:
        yield record
        if isinstance(record, Row):
            return


class _Quarantine:
    """Bad rows of one file, counted by reason, handed over with each batch."""

    def __init__(self, path: Path, summary: IngestSummary) -> None:
        self.path = quarantine_name(path)
        self.summary = summary
        self.pending: list[QuarantinedRecord] = []

    def keep(self, line: int, reason: str, record: str | None) -> None:
        source = self.summary.source
        self.pending.append(QuarantinedRecord(source, self.path, line, reason, record))
        self.summary.quarantined += 1
        kind = _reason_kind(reason)
        self.summary.reasons[kind] = self.summary.reasons.get(kind, 0) + 1

    def take(self) -> list[QuarantinedRecord]:
        taken, self.pending = self.pending, []
        return taken


_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"\d+")


def _reason_kind(reason: str) -> str:
    """A reason without its values, so the summary counts kinds, not rows."""
    kind = _NUMBER.sub("N", _QUOTED.sub("", reason.split(";")[0]))
    return " ".join(kind.split())


def _excerpt(row: Row) -> str:
    return ",".join(
        "" if value is None else str(value) for value in row.fields.values()
    )[:2000]


def _ingest_flat(
    path: Path,
    records: Iterable[Row | BadRow],
    store: Store,
    settings: Settings,
    summary: IngestSummary,
    overrides: Mapping[str, str],
    per_record: bool,
) -> None:
    quarantine = _Quarantine(path, summary)
    # CSV rows share one header; JSON Lines records may each name other fields,
    # so the mapping is found once per distinct set of field names.
    mappings: dict[tuple[str, ...], FlatMapping] = {}
    batch = Batch()
    for record in records:
        summary.rows += 1
        if isinstance(record, BadRow):
            quarantine.keep(record.line, record.reason, record.record)
            continue
        names = tuple(record.fields)
        mapping = mappings.get(names)
        if mapping is None:
            try:
                mapping = FlatMapping.detect(path, list(names), overrides)
            except InputError as exc:
                if not per_record:
                    raise
                quarantine.keep(
                    record.line, str(exc).split(": ", 1)[-1], _excerpt(record)
                )
                continue
            mappings[names] = mapping
        try:
            ticket, message = flat_records(
                record.fields, mapping, summary.source, settings.zone
            )
        except RecordError as exc:
            quarantine.keep(record.line, exc.reason, _excerpt(record))
            continue
        batch.tickets.append(ticket)
        if message is not None:
            batch.messages.append(message)
        if len(batch) >= settings.ingest.batch_size:
            _write(store, batch, quarantine, summary)
            batch = Batch()
    _write(store, batch, quarantine, summary)


def _write(
    store: Store, batch: Batch, quarantine: _Quarantine, summary: IngestSummary
) -> None:
    batch.quarantined = quarantine.take()
    if not len(batch):
        return
    store.write(batch)
    summary.tickets += len(batch.tickets)
    summary.messages += len(batch.messages)


def _ingest_twcs(
    path: Path,
    records: Iterable[Row | BadRow],
    store: Store,
    settings: Settings,
    summary: IngestSummary,
) -> None:
    quarantine = _Quarantine(path, summary)
    limits = settings.ingest
    builder = ConversationBuilder(
        summary.source,
        batch_size=limits.batch_size,
        memory_mb=limits.memory_limit_mb // 2,
        workers=limits.sentiment_workers,
    )
    try:
        for record in records:
            summary.rows += 1
            if isinstance(record, BadRow):
                quarantine.keep(record.line, record.reason, record.record)
                continue
            try:
                builder.add(record.line, record.fields)
            except RecordError as exc:
                quarantine.keep(record.line, exc.reason, _excerpt(record))

        store.write(Batch(quarantined=quarantine.take()))
        for tickets, messages in builder.build():
            store.write_tables(tickets=tickets, messages=messages)
            summary.tickets += tickets.num_rows if tickets is not None else 0
            summary.messages += messages.num_rows if messages is not None else 0
        _remove_emptied_conversations(store, summary.source)
    finally:
        builder.close()


def _remove_emptied_conversations(store: Store, source: str) -> None:
    """Delete the source's conversation tickets left without tweets.

    A twcs ticket exists only through its tweets and is named after its
    first one. When a reading joins two conversations, or moves a tweet to
    another, the tweets are stored under their new ticket and the old one
    would stay behind, empty, still counted in volume, backlog and SLA.
    Only a ticket named after a tweet now stored elsewhere goes, so tickets
    of another layout sharing the source name stay.
    """
    _, emptied = store.fetch(
        "SELECT external_id FROM tickets t WHERE t.source = :source"
        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.source = t.source"
        " AND m.ticket_external_id = t.external_id)"
        " AND EXISTS (SELECT 1 FROM messages m WHERE m.source = t.source"
        " AND m.external_id = t.external_id)",
        {"source": source},
    )
    if emptied:
        store.write(Batch(deleted_tickets=[(source, row[0]) for row in emptied]))
        log.info("emptied_conversations_removed", source=source, tickets=len(emptied))
