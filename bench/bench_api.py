"""Latency of the API calls the dashboard makes, against the same work done
without HTTP in the same process.

Builds (or reuses) the KPI benchmark's store of --tickets tickets, starts the
engine and the service on a loopback port in a thread, then times each call
over HTTP and its baseline: the same function called through the engine's
store lock without HTTP (compute_kpis, list_tickets, the alert repository),
or for /sources the bare /healthz round trip. Runs alternate; the best of
--repeat is reported with the ratio.

    .venv/bin/python bench/bench_api.py --tickets 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from supportpulse.alerts.repository import AlertRepository
from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.analytics.tickets import TicketQuery, list_tickets
from supportpulse.config import Settings
from supportpulse.engine.runner import Engine
from supportpulse.logs import configure_logging
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.service.server import address, bind, make_server
from supportpulse.store import Store

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_kpis import START, UNTIL, duckdb_store, timed_rounds  # noqa: E402

WINDOW = {"until": UNTIL.isoformat()}
STALE_1000 = "INSERT INTO kpi_stale SELECT source, external_id FROM tickets USING SAMPLE 1000 ROWS"


class Running:
    """The engine and service on their own event loop in a thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = Settings.model_validate(
            {"service": {"port": 0, "admin_token": "", "viewer_token": "",
                         "sources_file": str(BENCH / ".data" / "api-sources.json")},
             "alerts": {"rules": []}}
        )  # fmt: skip
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()))
        self.thread.start()
        self.ready.wait(60)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        self.engine = Engine(self.store, self.settings)
        await self.engine.start()
        runtime = ServiceRuntime(self.engine)
        await runtime.start()
        listener = bind(self.settings.service)
        server = make_server(runtime)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            await asyncio.sleep(0.01)
        self.url = address(listener)
        self.ready.set()
        await self.stop.wait()
        await runtime.stop()
        server.should_exit = True
        await serving
        await self.engine.stop()
        listener.close()

    def direct(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run a store call through the engine's lock, as the routes do."""
        future = asyncio.run_coroutine_threadsafe(
            self.engine.query(call, *args), self.loop
        )
        return future.result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(60)


def cases(
    running: Running, client: httpx.Client
) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    """(label, API call, baseline call) for each dashboard request."""
    store, sla = running.store, running.settings.sla
    until = datetime.fromisoformat(WINDOW["until"])
    first = client.get("/api/v1/tickets", params={"limit": 50}).json()["next_cursor"]

    def api(path: str, **params: Any) -> Callable[[], object]:
        def call() -> object:
            answer = client.get(path, params=params)
            answer.raise_for_status()
            return answer.content

        return call

    def kpis(**query: Any) -> Callable[[], object]:
        return lambda: running.direct(compute_kpis, store, KPIQuery(**query), sla)

    def tickets(**query: Any) -> Callable[[], object]:
        return lambda: running.direct(list_tickets, store, TicketQuery(**query))

    def after_write(call: Callable[[], object]) -> Callable[[], object]:
        # What a write of 1,000 tickets leaves for the next KPI call: their
        # reply facts to derive again. Marked the same way on both sides.
        def marked() -> object:
            running.direct(store.execute, STALE_1000)
            return call()

        return marked

    week = {"since": (until - timedelta(days=7)).isoformat(), **WINDOW}
    before = {"since": (until - timedelta(days=14)).isoformat(),
              "until": (until - timedelta(days=7)).isoformat()}  # fmt: skip

    def live_api() -> object:
        # The dashboard's auto-refresh of the 7-day view: tiles for the
        # window and the one before it, and the hourly trend.
        return [
            api("/api/v1/kpis", **week)(),
            api("/api/v1/kpis", **before)(),
            api("/api/v1/kpis/series", bucket="hour", **week)(),
        ]

    def live_base() -> object:
        return [
            kpis(since=until - timedelta(days=7), until=until)(),
            kpis(since=until - timedelta(days=14), until=until - timedelta(days=7))(),
            kpis(since=until - timedelta(days=7), until=until, bucket="hour")(),
        ]

    return [
        ("/kpis", api("/api/v1/kpis", **WINDOW), kpis(until=until)),
        ("/kpis?by=team", api("/api/v1/kpis", by="team", **WINDOW),
         kpis(until=until, by=("team",))),
        ("/kpis?team=billing", api("/api/v1/kpis", team="billing", **WINDOW),
         kpis(until=until, filters=(("team", "billing"),))),
        ("/kpis/series?bucket=day",
         api("/api/v1/kpis/series", bucket="day", since=START.isoformat(), **WINDOW),
         kpis(since=START, until=until, bucket="day")),
        ("/kpis after 1,000 written", after_write(api("/api/v1/kpis", **WINDOW)),
         after_write(kpis(until=until))),
        ("live refresh, 7 days", live_api, live_base),
        ("live refresh after a write", after_write(live_api), after_write(live_base)),
        ("/tickets?limit=50", api("/api/v1/tickets", limit=50), tickets(limit=50)),
        ("/tickets page 2", api("/api/v1/tickets", limit=50, cursor=first),
         tickets(limit=50, cursor=first)),
        ("/tickets?team=billing", api("/api/v1/tickets", limit=50, team="billing"),
         tickets(limit=50, filters=(("team", "billing"),))),
        ("/alerts", api("/api/v1/alerts"),
         lambda: running.direct(AlertRepository(store).states)),
        ("/sources", api("/api/v1/sources"), api("/healthz")),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    configure_logging("error")

    started = time.perf_counter()
    store = duckdb_store(args.tickets)
    print(
        f"store of {args.tickets:,} tickets ready in {time.perf_counter() - started:.1f} s"
    )
    running = Running(store)
    try:
        with httpx.Client(base_url=running.url, timeout=600) as client:
            print(f"{'call':28} {'API ms':>10} {'baseline ms':>12} {'ratio':>7}")
            for label, api_call, baseline in cases(running, client):
                times = timed_rounds({"api": api_call, "base": baseline}, args.repeat)
                api_s, base_s = min(times["api"]), min(times["base"])
                print(f"{label:28} {api_s * 1000:10.1f} {base_s * 1000:12.1f} "
                      f"{api_s / base_s:7.2f}")  # fmt: skip
    finally:
        running.close()
        store.close()


if __name__ == "__main__":
    main()
