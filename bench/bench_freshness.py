"""Freshness: from a record entering a push source to the KPI reflecting it.

Each record is a new ticket pushed by an in-process source at a steady rate;
after every committed batch the engine's write hook runs the full KPI query
and notes, for every ticket now counted, how long ago it entered the source.
The baseline, in the same run, is the floor any design pays: writing one
ticket straight to the store and running the same KPI query.

    .venv/bin/python bench/bench_freshness.py [--records 3000] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.logs import configure_logging
from supportpulse.model import Batch, Ticket
from supportpulse.sources.base import Cursor, Page, PushSource
from supportpulse.store import Store, open_store, parse_store_url

START = datetime(2024, 1, 1)


def _ticket(number: int) -> Ticket:
    moment = START + timedelta(seconds=number)
    return Ticket("bench", str(number), moment, moment, priority="high")


class Pusher(PushSource):
    """Pushes `total` tickets at `rate` per second, stamping when each entered."""

    def __init__(self, total: int, rate: float, entered: dict[int, float]) -> None:
        super().__init__("pusher", Pusher.options_model(), Settings())
        self.total, self.rate, self.entered = total, rate, entered

    async def stream(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        began = time.perf_counter()
        for number in range(self.total):
            delay = began + number / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.entered[number] = time.perf_counter()
            yield Page([{"n": number}], {"next": number + 1})

    def normalize(self, page: Page) -> Batch:
        return Batch(tickets=[_ticket(record["n"]) for record in page.records])


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


async def _engine_run(store: Store, total: int, rate: float) -> list[float]:
    entered: dict[int, float] = {}
    delays: list[float] = []
    seen = 0
    settings = Settings()
    engine = Engine(store, settings)

    async def measure() -> None:
        nonlocal seen
        document = await engine.query(
            compute_kpis, store, KPIQuery(until=START + timedelta(days=1)), settings.sla
        )
        counted = document["groups"][0]["tickets"] if document["groups"] else 0
        now = time.perf_counter()
        delays.extend(now - entered[number] for number in range(seen, counted))
        seen = counted

    engine.on_write(measure)
    await engine.start()
    await engine.add(
        SourceSettings(name="pusher", type="bench"), Pusher(total, rate, entered)
    )
    await engine.idle()
    await engine.stop()
    return delays


def _baseline(store: Store, samples: int) -> list[float]:
    settings = Settings()
    delays = []
    for number in range(samples):
        began = time.perf_counter()
        store.write(Batch(tickets=[_ticket(1_000_000 + number)]))
        compute_kpis(store, KPIQuery(until=START + timedelta(days=30)), settings.sla)
        delays.append(time.perf_counter() - began)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=500.0, help="records per second")
    args = parser.parse_args()
    configure_logging("warning")

    with tempfile.TemporaryDirectory() as scratch:
        store = open_store(parse_store_url(str(Path(scratch) / "fresh.duckdb")))
        delays = asyncio.run(_engine_run(store, args.records, args.rate))
        floor = _baseline(store, 200)
        store.close()

    p50, p99 = _percentile(delays, 0.5), _percentile(delays, 0.99)
    base50 = statistics.median(floor)
    print(f"records: {len(delays)} at {args.rate:.0f}/s")
    print(f"push -> KPI  p50 {p50 * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms")
    print(f"baseline write+KPI p50 {base50 * 1000:.1f} ms")
    print(f"ratio p50/baseline {p50 / base50:.2f}x   p99/baseline {p99 / base50:.2f}x")
    print(f"target p99 < 1 s: {'met' if p99 < 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
