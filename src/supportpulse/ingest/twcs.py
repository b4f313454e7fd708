"""twcs conversation files: tweets rebuilt into tickets and messages.

Tweets linked by replies form one conversation, and a conversation with a
customer tweet is one ticket (see docs/metrics.md). Finding conversations
needs the whole reply graph, so tweets are first staged in a scratch DuckDB
database on disk; the graph work runs there as SQL, which keeps this
process's memory flat however large the file is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import structlog

from supportpulse.analytics.sentiment import BackgroundScorer, sentiments
from supportpulse.errors import RecordError
from supportpulse.ingest.timestamps import parse_timestamp
from supportpulse.processes import process_running
from supportpulse.store.columns import MESSAGE_SCHEMA, TICKET_SCHEMA, raw_json

log = structlog.get_logger("supportpulse.ingest.twcs")

TWCS_COLUMNS = frozenset(
    {"tweet_id", "author_id", "inbound", "created_at", "text",
     "response_tweet_id", "in_response_to_tweet_id"}
)  # fmt: skip
DEFAULT_SOURCE = "twcs"
CHANNEL = "twitter"

_STAGED = pa.schema([
    ("tweet_id", pa.int64()), ("author_id", pa.string()), ("inbound", pa.bool_()),
    ("created_at", pa.timestamp("us")), ("body", pa.string()),
    ("reply_to", pa.int64()), ("responses", pa.list_(pa.int64())),
    ("sentiment", pa.float64()), ("raw", pa.string()), ("line", pa.int64()),
])  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    start=1,
)}  # fmt: skip
Scores = list[Future[list[float | None]]]
_LARGEST_ID = 2**63 - 1

# Bounds the SQL fixpoint; each round at least halves every conversation's
# distance to its label, so real reply chains converge in a few dozen rounds.
_MAX_ROUNDS = 200


def is_twcs(columns: list[str]) -> bool:
    """Whether a header is the twcs tweet layout."""
    return set(columns) >= TWCS_COLUMNS


def _tweet_id(value: object, field: str) -> int:
    text = str(value).strip()
    whole, dot, fraction = text.partition(".")
    if dot and fraction.strip("0"):
        raise RecordError(f"{field} '{text[:30]}' is not a whole tweet id")
    if not (whole.isascii() and whole.isdigit()):
        raise RecordError(f"{field} '{text[:30]}' is not a tweet id")
    number = int(whole)
    if number > _LARGEST_ID:
        raise RecordError(f"{field} '{text[:30]}' is larger than a 64-bit tweet id")
    return number


def _twitter_time(value: object) -> datetime:
    # The fixed twcs layout, e.g. "Tue Oct 31 22:10:47 +0000 2017", parsed by
    # slicing: strptime is the slowest step of the whole ingest otherwise.
    text = value if isinstance(value, str) else ""
    try:
        if len(text) == 30 and text[19] == " " and text[25] == " ":
            sign = -1 if text[20] == "-" else 1
            offset = timedelta(hours=int(text[21:23]), minutes=int(text[23:25]))
            moment = datetime(
                int(text[26:30]), _MONTHS[text[4:7]], int(text[8:10]),
                int(text[11:13]), int(text[14:16]), int(text[17:19]),
                tzinfo=timezone(sign * offset),
            )  # fmt: skip
            return moment.astimezone(UTC).replace(tzinfo=None)
    except (KeyError, ValueError):
        pass
    return parse_timestamp(value, UTC, "created_at")


def _inbound(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise RecordError(f"inbound '{str(value)[:20]}' must be True or False")


def parse_tweet(fields: dict[str, Any]) -> tuple[Any, ...]:
    """One twcs row as staged values (sentiment still to come); raises
    RecordError for a bad field."""
    tweet_id = _tweet_id(fields["tweet_id"], "tweet_id")
    author = str(fields["author_id"] or "").strip()
    if not author:
        raise RecordError("author_id is empty")
    inbound = _inbound(fields["inbound"])
    created = _twitter_time(fields["created_at"])

    parent_text = str(fields["in_response_to_tweet_id"] or "").strip()
    parent = _tweet_id(parent_text, "in_response_to_tweet_id") if parent_text else None
    responses_text = str(fields["response_tweet_id"] or "").strip()
    responses = [
        _tweet_id(part, "response_tweet_id")
        for part in responses_text.split(",")
        if part.strip()
    ]

    text = (
        fields["text"] if isinstance(fields["text"], str) else str(fields["text"] or "")
    )
    return tweet_id, author, inbound, created, text, parent, responses


_SCRATCH_PREFIX = "supportpulse-twcs-"


def _remove_abandoned_scratch() -> None:
    """Delete scratch folders of ingests that were killed before cleaning up."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        owner = folder.name.removeprefix(_SCRATCH_PREFIX).split("-")[0]
        if owner.isdigit() and not process_running(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            log.info("abandoned_scratch_removed", folder=str(folder))


class ConversationBuilder:
    """Collects tweets, then yields tickets and messages as Arrow batches."""

    def __init__(
        self, source: str, *, batch_size: int, memory_mb: int, workers: int
    ) -> None:
        self.source = source
        self.batch_size = batch_size
        _remove_abandoned_scratch()
        self._dir = tempfile.TemporaryDirectory(
            prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-"
        )
        scratch = Path(self._dir.name)
        self._db = duckdb.connect(str(scratch / "scratch.duckdb"))
        self._db.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        self._db.execute("SET preserve_insertion_order = false")
        # One thread: each thread keeps its own hash tables, and the graph
        # steps are memory-bound, not CPU-bound.
        self._db.execute("SET threads = 1")
        spill = str(scratch / "spill").replace("'", "''")
        self._db.execute(f"SET temp_directory = '{spill}'")
        self._db.execute(
            "CREATE TABLE staged (tweet_id BIGINT, author_id VARCHAR, inbound BOOLEAN,"
            " created_at TIMESTAMP, body VARCHAR, reply_to BIGINT, responses BIGINT[],"
            " sentiment DOUBLE, raw VARCHAR, line BIGINT)"
        )
        self._pending: list[tuple[Any, ...]] = []
        self._scoring: deque[tuple[list[tuple[Any, ...]], Scores]] = deque()
        self._scorer = BackgroundScorer(workers) if workers else None
        self.tweets = 0

    def add(self, line: int, fields: dict[str, Any]) -> None:
        """Stage one row; raises RecordError when it is not a usable tweet."""
        values = parse_tweet(fields)
        raw = raw_json({name: fields[name] for name in TWCS_COLUMNS})
        self._pending.append((*values, raw, line))
        self.tweets += 1
        if len(self._pending) >= self.batch_size:
            self._score_pending()

    def _score_pending(self) -> None:
        """Hand the pending rows' customer texts to the scorer; stage older
        batches whose scores are ready, keeping at most two in flight."""
        rows, self._pending = self._pending, []
        texts = [row[4] for row in rows if row[2]]
        if self._scorer is None:
            self._insert(rows, iter(sentiments(texts)))
            return
        self._scoring.append((rows, self._scorer.submit(texts)))
        while len(self._scoring) > 2:
            self._stage(*self._scoring.popleft())

    def _finish_scoring(self) -> None:
        if self._scoring:
            self._score_pending()
            while self._scoring:
                self._stage(*self._scoring.popleft())
        elif self._pending:
            # A small file: score in this process rather than start workers.
            rows, self._pending = self._pending, []
            texts = [row[4] for row in rows if row[2]]
            self._insert(rows, iter(sentiments(texts)))

    def _stage(self, rows: list[tuple[Any, ...]], scores: Scores) -> None:
        self._insert(rows, iter(BackgroundScorer.collect(scores)))

    def _insert(
        self, rows: list[tuple[Any, ...]], scores: Iterator[float | None]
    ) -> None:
        staged_rows = [
            (*row[:7], next(scores) if row[2] else None, *row[7:]) for row in rows
        ]
        columns = list(zip(*staged_rows, strict=True)) if staged_rows else []
        if not columns:
            return
        staged = pa.table([list(column) for column in columns], schema=_STAGED)
        self._db.register("incoming", staged)
        self._db.execute("INSERT INTO staged SELECT * FROM incoming")
        self._db.unregister("incoming")

    def close(self) -> None:
        """Stop the scorer and drop the scratch database."""
        if self._scorer is not None:
            self._scorer.close()
        self._db.close()
        self._dir.cleanup()

    def build(self) -> Iterator[tuple[pa.Table | None, pa.Table | None]]:
        """Yield (tickets, messages) batches; tickets come before their messages."""
        self._finish_scoring()
        rounds = self._label_conversations()
        log.debug("twcs_conversations_labelled", rounds=rounds)
        self._db.execute(_TICKETS_SQL, [self.source, CHANNEL])

        for table, schema, sql in (
            ("tickets", TICKET_SCHEMA, "SELECT * EXCLUDE (conversation) FROM ticket"),
            ("messages", MESSAGE_SCHEMA, _MESSAGES_SQL),
        ):
            params = [self.source] if table == "messages" else None
            relation = self._db.sql(sql, params=params)
            for batch in relation.to_arrow_reader(self.batch_size):
                rows = pa.Table.from_batches([batch]).cast(schema)
                yield (rows, None) if table == "tickets" else (None, rows)

    def _label_conversations(self) -> int:
        """Label every tweet with the smallest id reachable through reply links."""
        db = self._db
        # The last row of a repeated tweet wins. A join on the latest line
        # keeps the wide text columns out of a window, which cannot spill.
        db.execute(
            "CREATE TABLE tweet AS SELECT s.* FROM staged s JOIN ("
            " SELECT tweet_id, max(line) AS line FROM staged GROUP BY tweet_id"
            ") AS latest USING (tweet_id, line)"
        )
        db.execute("DROP TABLE staged")
        db.execute(
            # UNION ALL: repeated links do not change the labels, and removing
            # them would need a hash table as large as the graph.
            "CREATE TABLE link AS"
            " WITH edge AS ("
            "  SELECT tweet_id AS a, reply_to AS b FROM tweet WHERE reply_to IS NOT NULL"
            "  UNION ALL SELECT tweet_id, unnest(responses) FROM tweet)"
            " SELECT a, b FROM edge UNION ALL SELECT b, a FROM edge"
        )
        db.execute(
            "CREATE TABLE label AS SELECT id, id AS conversation FROM"
            " (SELECT a AS id FROM link UNION SELECT tweet_id FROM tweet)"
        )
        for round_number in range(1, _MAX_ROUNDS + 1):
            # Take the smallest label among neighbours, then jump to the label's
            # own label: labels spread along chains and collapse trees quickly.
            # Two narrow steps (smallest neighbouring label per node, then
            # merge) keep each hash table small enough to stay in memory.
            db.execute(
                "CREATE OR REPLACE TABLE nearest AS"
                " SELECT k.a AS id, min(n.conversation) AS conversation"
                " FROM link k JOIN label n ON n.id = k.b GROUP BY k.a"
            )
            db.execute(
                "CREATE OR REPLACE TABLE step AS"
                " SELECT l.id, least(l.conversation, coalesce(m.conversation, l.conversation))"
                " AS conversation FROM label l LEFT JOIN nearest m USING (id)"
            )
            db.execute(
                "CREATE OR REPLACE TABLE step AS"
                " SELECT s.id, least(s.conversation, j.conversation) AS conversation"
                " FROM step s JOIN step j ON j.id = s.conversation"
            )
            changed = db.execute(
                "SELECT count(*) FROM step s JOIN label l USING (id)"
                " WHERE s.conversation <> l.conversation"
            ).fetchone()
            db.execute("CREATE OR REPLACE TABLE label AS SELECT * FROM step")
            if changed is None or changed[0] == 0:
                return round_number
        raise RecordError(f"reply graph did not settle in {_MAX_ROUNDS} rounds")


_TICKETS_SQL = """
CREATE TABLE ticket AS
SELECT
    ? AS source,
    CAST(min(t.tweet_id) AS VARCHAR) AS external_id,
    min(t.created_at) FILTER (WHERE t.inbound) AS created_at,
    max(t.created_at) AS updated_at,
    CAST(NULL AS VARCHAR) AS status,
    CAST(NULL AS VARCHAR) AS priority,
    ? AS channel,
    arg_min(t.author_id, (t.created_at, t.tweet_id)) FILTER (WHERE NOT t.inbound) AS team,
    CAST(NULL AS VARCHAR) AS agent,
    arg_min(t.author_id, (t.created_at, t.tweet_id)) FILTER (WHERE t.inbound) AS requester,
    CAST(NULL AS VARCHAR) AS category,
    CAST([] AS VARCHAR[]) AS tags,
    CAST(NULL AS TIMESTAMP) AS first_response_at,
    CAST(NULL AS TIMESTAMP) AS resolved_at,
    CAST(NULL AS DOUBLE) AS csat,
    to_json({'format': 'twcs', 'tweet_ids': list(t.tweet_id ORDER BY t.tweet_id)})
        AS raw,
    l.conversation
FROM tweet t JOIN label l ON l.id = t.tweet_id
GROUP BY l.conversation
HAVING bool_or(t.inbound)
"""

_MESSAGES_SQL = """
SELECT
    ? AS source,
    CAST(t.tweet_id AS VARCHAR) AS external_id,
    k.external_id AS ticket_external_id,
    t.created_at,
    t.created_at AS updated_at,
    CASE WHEN t.inbound THEN 'customer' ELSE 'agent' END AS author_role,
    t.author_id,
    CAST(t.reply_to AS VARCHAR) AS reply_to,
    t.body,
    t.sentiment,
    t.raw
FROM tweet t
JOIN label l ON l.id = t.tweet_id
JOIN ticket k ON k.conversation = l.conversation
"""
