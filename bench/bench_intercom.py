"""The Intercom source: a full sync of a generated workspace from the fake.

The fake serves N conversations (with parts) from its own process. The
connector syncs them through the engine into a DuckDB store; the baseline,
in the same run, is a plain client reading the same data the way a simple
connector does: one request at a time, searching with `starting_after`
pages, then reading each conversation whole, keeping nothing.

    .venv/bin/python bench/bench_intercom.py [--tickets 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx

from helpdesk_bench import fake_vendor, sync_seconds
from supportpulse.config import Settings, SourceSettings
from supportpulse.fakes.intercom import DEMO_TOKEN
from supportpulse.logs import configure_logging
from supportpulse.sources.intercom import IntercomOptions, IntercomSource

HEADERS = {"Authorization": f"Bearer {DEMO_TOKEN}", "Intercom-Version": "2.14"}


async def _baseline(url: str) -> tuple[int, int]:
    """Conversations and requests of a sequential read."""
    read = requests = 0
    after: str | None = None
    async with httpx.AsyncClient(base_url=url, headers=HEADERS) as client:
        while True:
            pagination: dict[str, Any] = {"per_page": 150}
            if after:
                pagination["starting_after"] = after
            body = {"query": {"field": "updated_at", "operator": ">", "value": 0},
                    "pagination": pagination,
                    "sort": {"field": "updated_at", "order": "ascending"}}  # fmt: skip
            page = (await client.post("/conversations/search", json=body)).json()
            requests += 1
            for conversation in page["conversations"]:
                await client.get(f"/conversations/{conversation['id']}")
                requests += 1
                read += 1
            after = (page["pages"].get("next") or {}).get("starting_after")
            if after is None:
                return read, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    configure_logging("WARNING")

    with fake_vendor("intercom", args.tickets) as url:
        started = time.perf_counter()
        read, plain_requests = asyncio.run(_baseline(url))
        plain_s = time.perf_counter() - started

        options = IntercomOptions(
            base_url=url, access_token=DEMO_TOKEN, account_rate_per_min=10**9,
            concurrency=8,
        )  # fmt: skip
        config = SourceSettings(
            name="ic-bench", type="intercom", interval=timedelta(seconds=1)
        )
        source = IntercomSource(config.name, options, Settings())
        synced_s = sync_seconds(config, source, args.tickets)

    print(f"conversations: {args.tickets:,} (baseline read {read:,})")
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
