"""The database source: backfill throughput and LISTEN/NOTIFY freshness.

Backfill reads a seed-era ticket table of N rows from PostgreSQL into a DuckDB
store through the engine, against a baseline in the same run: reading the
same rows with SQLAlchemy in the same batch size and doing nothing with them.
Freshness inserts single rows into the table one at a time and times each
from its commit to the ticket being readable in the store, with the notify
source, once it has caught up with the table.

    .venv/bin/python bench/bench_database.py [--rows 200000] [--inserts 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psutil
import psycopg
import sqlalchemy as sa

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.logs import configure_logging
from supportpulse.sources.database_notify import NotifyingDatabaseSource, NotifyOptions
from supportpulse.store import Store, open_store, parse_store_url

SERVER = "postgresql://postgres@127.0.0.1:5432"
TABLE = """
CREATE TABLE support_tickets (
    ticket_id BIGINT PRIMARY KEY, created_at TIMESTAMP NOT NULL,
    responded_at TIMESTAMP, team TEXT, status TEXT, priority TEXT, category TEXT,
    assigned_to TEXT, resolution_minutes INT, satisfaction_score INT, tags TEXT,
    updated_at TIMESTAMP NOT NULL)
"""
FILL = """
INSERT INTO support_tickets
SELECT n, timestamp '2024-01-01' + n * interval '7 seconds',
       timestamp '2024-01-01' + n * interval '7 seconds' + (n %% 240) * interval '1 minute',
       'team' || (n %% 8), 'open', (ARRAY['P1','P2','P3'])[1 + n %% 3], 'billing',
       'agent' || (n %% 50), NULL, 1 + n %% 5, 'a,b',
       timestamp '2024-01-01' + n * interval '7 seconds'
FROM generate_series(1, %s) AS n
"""


def _source(url: str, kind: str = "database") -> SourceSettings:
    return SourceSettings(
        name="helpdesk", type=kind, interval=timedelta(milliseconds=100),
        options={"url": url, "table": "support_tickets", "batch_size": 5000,
                 "mappings": {"agent": "assigned_to", "csat": "satisfaction_score"}},
    )  # fmt: skip


class PeakMemory:
    """Samples this process's resident memory in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def backfill(url: str, rows: int, scratch: Path) -> tuple[float, float, int, list[int]]:
    """Seconds for the engine, seconds for the bare read, peak RSS bytes, and
    the peak reached by each quarter of the rows, to show whether it is flat."""
    store = open_store(parse_store_url(str(scratch / "backfill.duckdb")))
    settings = Settings(
        engine=EngineSettings(batch_records=20000), sources=[_source(url)]
    )
    quarters: list[int] = []

    async def run() -> None:
        engine = Engine(store, settings)
        await engine.start()
        while True:
            done = max((s["records"] for s in engine.status()), default=0)
            if done >= rows * (len(quarters) + 1) / 4:
                quarters.append(memory.peak)
            if done >= rows:
                break
            await asyncio.sleep(0.05)
        await engine.stop()

    with PeakMemory() as memory:
        began = time.perf_counter()
        asyncio.run(run())
        engine_s = time.perf_counter() - began
    store.close()

    reader = sa.create_engine(url)
    began = time.perf_counter()
    with reader.connect() as connection:
        result = connection.execution_options(yield_per=5000).execute(
            sa.text("SELECT * FROM support_tickets ORDER BY updated_at, ticket_id")
        )
        for _ in result.partitions():
            pass
    bare_s = time.perf_counter() - began
    reader.dispose()
    return engine_s, bare_s, memory.peak, quarters


def _stored(store: Store, number: int) -> bool:
    _, rows = store.fetch(
        "SELECT 1 FROM tickets WHERE source = 'helpdesk' AND external_id = :id",
        {"id": str(number)},
    )
    return bool(rows)


def freshness(url: str, inserts: int, scratch: Path) -> list[float]:
    """Seconds from each insert's commit to the ticket being readable in the store."""
    source = _source(url, "database-notify")
    NotifyingDatabaseSource(source.name, NotifyOptions.model_validate(source.options),
                            Settings()).install_trigger()  # fmt: skip
    store = open_store(parse_store_url(str(scratch / "fresh.duckdb")))
    settings = Settings(engine=EngineSettings(batch_wait=timedelta(milliseconds=20)))
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    delays: list[float] = []

    async def run() -> None:
        engine = Engine(store, settings)
        await engine.start()
        await engine.add(source)
        with psycopg.connect(plain, autocommit=True) as writer:
            first = writer.execute(
                "SELECT max(ticket_id) FROM support_tickets"
            ).fetchone()
            base = int(first[0] if first and first[0] else 0)
            # Time only live rows: first let the source catch up with the table.
            while not any(s["records"] >= base for s in engine.status()):
                await asyncio.sleep(0.05)
            for number in range(base + 1, base + inserts + 1):
                writer.execute(
                    "INSERT INTO support_tickets SELECT %s, now(), NULL, 'team1', 'open',"
                    " 'P1', 'billing', 'agent1', NULL, 5, '', now()",
                    (number,),
                )
                committed = time.perf_counter()
                while not await engine.query(_stored, store, number):
                    await asyncio.sleep(0.005)
                delays.append(time.perf_counter() - committed)
        await engine.stop()

    asyncio.run(run())
    store.close()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--inserts", type=int, default=200)
    args = parser.parse_args()
    configure_logging("warning")

    name = f"sp_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as connection:
            connection.execute(TABLE.encode())
            connection.execute(FILL.encode(), (args.rows,))
            connection.execute(b"ANALYZE support_tickets")
        with tempfile.TemporaryDirectory() as scratch:
            engine_s, bare_s, peak, quarters = backfill(url, args.rows, Path(scratch))
            print(
                f"backfill {args.rows:,} rows: {args.rows / engine_s:,.0f} rows/s "
                f"(bare read {args.rows / bare_s:,.0f} rows/s, ratio "
                f"{bare_s / engine_s:.2f}x), peak RSS {peak / 2**20:.0f} MB; by quarter "
                + ", ".join(f"{q / 2**20:.0f}" for q in quarters)
                + " MB"
            )
            delays = freshness(url, args.inserts, Path(scratch))
            cuts = statistics.quantiles(delays, n=100, method="inclusive")
            print(
                f"NOTIFY freshness over {len(delays)} inserts: p50 "
                f"{statistics.median(delays) * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms"
            )
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


if __name__ == "__main__":
    main()
