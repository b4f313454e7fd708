"""The Freshdesk source: a full sync of a generated account from the fake.

The fake serves N tickets (with conversations and ratings) from its own
process. The connector syncs them through the engine into a DuckDB store;
the baseline, in the same run, is a plain client reading the same data the
way a simple connector does: one request at a time, following `Link` pages
and re-anchoring at the 300-page cap, then each ticket's conversations and
ratings, keeping nothing.

    .venv/bin/python bench/bench_freshdesk.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

import httpx

from helpdesk_bench import fake_vendor, sync_seconds
from supportpulse.config import Settings, SourceSettings
from supportpulse.fakes.freshdesk import DEMO_API_KEY
from supportpulse.logs import configure_logging
from supportpulse.sources.freshdesk import FreshdeskOptions, FreshdeskSource

LISTING = {"order_by": "updated_at", "order_type": "asc", "per_page": 100,
           "include": "stats,description"}  # fmt: skip


async def _baseline(url: str) -> tuple[int, int]:
    """Tickets and requests of a sequential read; every ticket once."""
    seen: set[int] = set()
    requests = 0
    since = "1970-01-01T00:00:00Z"
    async with httpx.AsyncClient(base_url=url, auth=(DEMO_API_KEY, "X")) as client:
        while True:
            page, last, fresh = 1, since, 0
            while page <= 300:
                params = {**LISTING, "updated_since": since, "page": page}
                response = await client.get("/api/v2/tickets", params=params)
                requests += 1
                for ticket in response.json():
                    last = ticket["updated_at"]
                    if ticket["id"] in seen:
                        continue
                    seen.add(ticket["id"])
                    fresh += 1
                    for path in ("conversations", "satisfaction_ratings"):
                        await client.get(f"/api/v2/tickets/{ticket['id']}/{path}")
                        requests += 1
                if "next" not in response.links:
                    return len(seen), requests
                page += 1
            since = last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    configure_logging("WARNING")

    with fake_vendor("freshdesk", args.tickets) as url:
        started = time.perf_counter()
        read, plain_requests = asyncio.run(_baseline(url))
        plain_s = time.perf_counter() - started

        options = FreshdeskOptions(
            base_url=url,
            api_key=DEMO_API_KEY,
            account_rate_per_min=10**9,
            concurrency=8,
            per_page=100,
        )
        config = SourceSettings(
            name="fd-bench", type="freshdesk", interval=timedelta(seconds=1)
        )
        source = FreshdeskSource(config.name, options, Settings())
        synced_s = sync_seconds(config, source, args.tickets)

    print(f"tickets: {args.tickets:,} (baseline read {read:,})")
    print(
        f"connector: {args.tickets / synced_s:,.0f} tickets/s, {source.http.requests:,} "
        f"requests, {synced_s:.1f} s"
    )
    print(
        f"baseline:  {read / plain_s:,.0f} tickets/s, {plain_requests:,} requests, "
        f"{plain_s:.1f} s"
    )
    print(f"ratio: {plain_s / synced_s:.2f}x the baseline's speed")


if __name__ == "__main__":
    main()
