"""Reading input files as a stream of rows, with every bad row caught and placed.

A reader yields `Row` for each good record and `BadRow` for each record that
cannot be read (wrong column count, invalid UTF-8, oversized field, broken
JSON), always with the line on which the record starts. It never stops the
file for one bad record.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from supportpulse.errors import InputError

#: How much of a bad record is kept in quarantine, so one huge row stays small.
RECORD_EXCERPT = 2000
#: Fields up to this size are read whole before the configured limit applies.
HARD_FIELD_LIMIT = 64 * 1024 * 1024


@dataclass(slots=True)
class Row:
    """One readable record: field name to value, and its first line."""

    line: int
    fields: dict[str, Any]


@dataclass(slots=True)
class BadRow:
    """A record that cannot be read, where it starts and why."""

    line: int
    reason: str
    record: str | None


def _excerpt(text: str) -> str:
    # Undecodable bytes and NUL shown escaped: PostgreSQL text cannot hold NUL.
    shown = text[:RECORD_EXCERPT].encode("utf-8", "backslashreplace").decode("utf-8")
    return shown.replace("\x00", "\\x00")


class RowFile:
    """An open CSV or JSON Lines file: its columns and an iterator of rows."""

    def __init__(self, path: Path, *, encoding: str, max_field_size: int) -> None:
        self.path = path
        self.max_field_size = max_field_size
        self.format = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"
        if path.suffix.lower() == ".json":
            raise InputError(
                f"{path}: JSON documents are not read; convert it to JSON Lines "
                "(.jsonl, one object per line)"
            )
        try:
            codec = codecs.lookup(encoding)
        except LookupError:
            raise InputError(
                f"unknown encoding '{encoding}'; use a Python codec name"
            ) from None
        # Codecs such as rot13 or base64 map text to text or bytes to bytes.
        if not getattr(codec, "_is_text_encoding", True):
            raise InputError(
                f"'{encoding}' is not a text encoding; use e.g. latin-1 or cp1252"
            )

        # utf-8-sig reads files with and without a byte-order mark alike;
        # surrogateescape keeps undecodable bytes so the row can be reported.
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
            encoding = "utf-8-sig"
        try:
            self._stream: TextIO = path.open(
                encoding=encoding, errors="surrogateescape", newline=""
            )
        except IsADirectoryError:
            raise InputError(
                f"{path}: is a directory; pass the files inside it"
            ) from None
        except OSError as exc:
            raise InputError(f"{path}: cannot open ({exc.strerror})") from None
        self.columns: list[str] = []
        # csv's field limit is process-wide; it is put back on close.
        self._previous_limit = csv.field_size_limit()

    def __enter__(self) -> RowFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stream.close()
        csv.field_size_limit(self._previous_limit)

    def rows(self) -> Iterator[Row | BadRow]:
        """Every record in the file, good or bad, in file order."""
        if self.format == "jsonl":
            return self._json_rows()
        return self._csv_rows()

    def _csv_rows(self) -> Iterator[Row | BadRow]:
        # The csv module loses its place when it stops inside an oversized
        # field, so it gets a generous hard limit and fields over the
        # configured size are caught once their record is whole.
        csv.field_size_limit(max(self.max_field_size * 8, HARD_FIELD_LIMIT))
        reader = csv.reader(self._stream, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(
                f"{self.path}: file is empty; expected a header row"
            ) from None
        except csv.Error as exc:
            raise InputError(
                f"{self.path}: line 1: unreadable header ({exc})"
            ) from None
        self.columns = _check_header(self.path, header)
        return self._csv_records(reader, len(self.columns))

    def _csv_records(self, reader: Any, width: int) -> Iterator[Row | BadRow]:
        columns = self.columns
        ended = reader.line_num
        while True:
            start = ended + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                ended = reader.line_num
                reason = f"unreadable CSV record: {exc}"
                if "end of data" in str(exc):
                    reason = (
                        f"a quoted field opened here is never closed, so lines {start} "
                        f"to {ended} cannot be read; close the quote and ingest again"
                    )
                yield BadRow(start, reason, None)
                continue
            ended = reader.line_num

            if not values:
                continue
            joined = "\x1f".join(values)
            problem = _text_problem(joined)
            if problem is None and len(values) != width:
                problem = f"expected {width} fields, found {len(values)}"
            if problem is None and len(joined) > self.max_field_size:
                problem = self._oversized(values)
            if problem is not None:
                yield BadRow(start, problem, _excerpt(",".join(values)))
                continue
            yield Row(start, dict(zip(columns, values, strict=True)))

    def _oversized(self, values: list[str]) -> str | None:
        for name, value in zip(self.columns, values, strict=True):
            if len(value) > self.max_field_size:
                return f"field '{name}' is larger than {self.max_field_size} characters"
        return None

    def _json_rows(self) -> Iterator[Row | BadRow]:
        for number, line in enumerate(self._stream, start=1):
            if not line.strip():
                continue
            problem = _text_problem(line)
            if problem is not None:
                yield BadRow(number, problem, _excerpt(line))
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield BadRow(
                    number,
                    f"invalid JSON: {exc.msg} at column {exc.colno}",
                    _excerpt(line),
                )
                continue
            if not isinstance(value, dict):
                yield BadRow(
                    number, "a JSON Lines record must be an object", _excerpt(line)
                )
                continue
            # Escapes such as \u0000 or a lone \ud800 only appear once decoded.
            decoded = json.dumps(value, ensure_ascii=False)
            problem = _text_problem(decoded)
            if problem is None and "\\u0000" in decoded:
                problem = "NUL character in record"
            if problem is not None:
                yield BadRow(number, problem, _excerpt(line))
                continue
            oversized = next(
                (
                    key
                    for key, item in value.items()
                    if isinstance(item, str) and len(item) > self.max_field_size
                ),
                None,
            )
            if oversized is not None:
                yield BadRow(
                    number,
                    f"field '{oversized}' is larger than {self.max_field_size} characters",
                    _excerpt(line),
                )
                continue
            if not self.columns:
                self.columns = list(value)
            yield Row(number, value)


def _check_header(path: Path, header: list[str]) -> list[str]:
    columns = [name.strip() for name in header]
    if _text_problem("\x1f".join(columns)) is not None:
        raise InputError(f"{path}: line 1: header is not valid text; check --encoding")
    if not any(columns):
        raise InputError(f"{path}: line 1: header row is blank")
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise InputError(
                f"{path}: line 1: column '{name}' appears twice; rename one"
            )
        seen.add(name)
    return columns


def _text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None: undecodable bytes or NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "invalid UTF-8 (or not the --encoding given)"
    if "\x00" in text:
        return "NUL character in record"
    return None
