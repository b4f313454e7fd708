"""The simulated help desk: how fast it feeds the engine, against generating alone.

The baseline is the pure generator: the same week of records produced and
thrown away. The product run streams the same week through the engine into a
fresh DuckDB store at speed 0 (as fast as the engine takes it), sentiment
scoring included. The ratio says how much of a demo's catch-up is spent
generating rather than storing.

    .venv/bin/python bench/bench_simulated.py [--days 7] [--per-hour 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from supportpulse.config import Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.logs import configure_logging
from supportpulse.simulation import HelpdeskModel, timeline
from supportpulse.store import open_store, parse_store_url

START = datetime(2024, 3, 4)


def _generate(days: int, per_hour: float) -> tuple[int, float]:
    began = time.perf_counter()
    model = HelpdeskModel(per_hour=per_hour)
    count = sum(1 for _ in timeline(model, START, START + timedelta(days=days)))
    return count, time.perf_counter() - began


def _stream(days: int, per_hour: float, folder: Path) -> tuple[int, float]:
    options = {
        "speed": 0,
        "per_hour": per_hour,
        "start": START.isoformat(),
        "until": (START + timedelta(days=days)).isoformat(),
    }
    settings = Settings(
        sources=[SourceSettings(name="desk", type="simulated", options=options)]
    )

    async def run() -> int:
        with open_store(parse_store_url(f"duckdb://{folder}/store.duckdb")) as store:
            engine = Engine(store, settings)
            await engine.start()
            await engine.idle()
            records = int(engine.status()[0]["records"])
            await engine.stop()
            return records

    began = time.perf_counter()
    records = asyncio.run(run())
    return records, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--per-hour", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_logging("warning")

    generated, streamed = [], []
    for attempt in range(args.repeat):
        generated.append(_generate(args.days, args.per_hour))
        with tempfile.TemporaryDirectory() as folder:
            streamed.append(_stream(args.days, args.per_hour, Path(folder)))
        print(f"run {attempt + 1}: generate {generated[-1]}, stream {streamed[-1]}")

    records, base_s = min(generated, key=lambda run: run[1])
    stored, product_s = min(streamed, key=lambda run: run[1])
    assert stored == records, f"streamed {stored} records, generated {records}"
    print(f"records: {records:,} ({args.days} days at {args.per_hour:g}/h)")
    print(f"generate only: {base_s:.2f} s ({records / base_s:,.0f} records/s)")
    print(f"through engine: {product_s:.2f} s ({records / product_s:,.0f} records/s)")
    print(f"ratio engine / generate: {product_s / base_s:.1f}")
    week_s = timedelta(days=args.days).total_seconds()
    print(f"event-time speed the engine keeps up with: {week_s / product_s:,.0f}x")


if __name__ == "__main__":
    main()
