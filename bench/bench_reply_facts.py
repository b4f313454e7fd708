"""What a write costs the next KPI query: deriving the reply facts of the
tickets it touched, against the KPI query itself on fresh facts.

Uses the KPI benchmark's DuckDB store. Each round marks --stale tickets (a
sample) as written, times refresh_reply_facts, then times compute_kpis over
the whole window with nothing left to refresh. Best of --repeat; also times
deriving every ticket's facts from nothing once, as after an upgrade.

    .venv/bin/python bench/bench_reply_facts.py --tickets 1000000 --repeat 3
    .venv/bin/python bench/bench_reply_facts.py --postgres --tickets 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.analytics.reply_facts import refresh_reply_facts
from supportpulse.config import SLASettings
from supportpulse.logs import configure_logging
from supportpulse.store import Store

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_kpis import UNTIL, duckdb_store, postgres_store  # noqa: E402

STALE_COUNTS = (1, 100, 1_000, 10_000, 100_000)


def refresh_after_marking(store: Store, stale: int) -> float:
    # A random sample of tickets, the same SQL on both engines.
    store.execute(
        "INSERT INTO kpi_stale SELECT source, external_id FROM tickets"
        f" ORDER BY md5(external_id || :round) LIMIT {int(stale)}",
        {"round": str(time.perf_counter_ns())},
    )
    started = time.perf_counter()
    refresh_reply_facts(store)
    return time.perf_counter() - started


def kpi_query(store: Store) -> float:
    started = time.perf_counter()
    compute_kpis(store, KPIQuery(until=UNTIL), SLASettings())
    return time.perf_counter() - started


def measure(store: Store, repeat: int) -> None:
    """Print the from-nothing derive, then each stale count against the query."""
    refresh_reply_facts(store)
    store.execute("INSERT INTO kpi_stale SELECT source, external_id FROM tickets")
    started = time.perf_counter()
    refresh_reply_facts(store)
    print(f"every ticket from nothing: {time.perf_counter() - started:.2f} s")

    print(f"{'stale tickets':>14} {'refresh ms':>11} {'KPI query ms':>13} {'ratio':>6}")
    _, total = store.fetch("SELECT count(*) FROM tickets")
    for stale in (count for count in STALE_COUNTS if count < total[0][0]):
        refresh, query = [], []
        for _ in range(repeat):
            refresh.append(refresh_after_marking(store, stale))
            query.append(kpi_query(store))
        best_refresh, best_query = min(refresh), min(query)
        print(f"{stale:>14,} {best_refresh * 1000:11.0f} {best_query * 1000:13.0f}"
              f" {best_refresh / best_query:6.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL database"
    )
    args = parser.parse_args()
    configure_logging("error")

    if args.postgres:
        with postgres_store(args.tickets) as store:
            measure(store, args.repeat)
        return
    with duckdb_store(args.tickets) as store:
        measure(store, args.repeat)


if __name__ == "__main__":
    main()
