"""Drive a help-desk source in the real engine against a fake vendor server
that keeps changing, then wait until the store equals the vendor's state."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.store import Store

Rows = dict[str, tuple[Any, ...]]

ENGINE = EngineSettings(
    batch_wait=timedelta(milliseconds=20),
    backoff_base=timedelta(milliseconds=50),
    backoff_cap=timedelta(seconds=1),
    failures_before_open=1000,
)


class Mutator:
    """Calls `change` every `every_s` seconds on a thread until stopped."""

    def __init__(self, change: Callable[[], object], every_s: float) -> None:
        self.change = change
        self.every_s = every_s
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.change()
            self.count += 1

    def __enter__(self) -> Mutator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def settings(name: str, kind: str, options: dict[str, Any]) -> Settings:
    """Engine settings with one source polled every 200 ms."""
    source = SourceSettings(
        name=name,
        type=kind,
        interval=timedelta(milliseconds=200),
        jitter=0,
        timeout=timedelta(seconds=120),
        options=options,
    )
    return Settings(engine=ENGINE, sources=[source])


def store_rows(store: Store, source: str) -> tuple[Rows, Rows]:
    """Tickets and messages of one source, keyed by external id, raw left out."""
    _, tickets = store.fetch(
        "SELECT external_id, created_at, updated_at, status, priority, channel, team,"
        " agent, requester, category, tags, first_response_at, resolved_at, csat"
        " FROM tickets WHERE source = :source",
        {"source": source},
    )
    _, messages = store.fetch(
        "SELECT external_id, ticket_external_id, created_at, updated_at, author_role,"
        " author_id, body FROM messages WHERE source = :source",
        {"source": source},
    )
    return (
        {row[0]: _rounded(row) for row in tickets},
        {row[0]: tuple(row) for row in messages},
    )


def _rounded(row: tuple[Any, ...]) -> tuple[Any, ...]:
    values = list(row)
    values[10] = list(values[10] or [])
    values[13] = None if values[13] is None else round(values[13], 6)
    return tuple(values)


async def sync_until(
    store: Store,
    config: Settings,
    during: Callable[[], None],
    check: Callable[[Rows, Rows], list[str]],
    source: str,
    settle_s: float = 180.0,
) -> list[str]:
    """Run the engine while `during` runs (in a thread), then until `check`
    of the store's tickets and messages finds no difference or `settle_s`
    passes; return the differences left."""
    engine = Engine(store, config)
    await engine.start()
    try:
        await asyncio.to_thread(during)
        deadline = time.monotonic() + settle_s
        while True:
            found = await engine.query(store_rows, store, source)
            problems = check(*found)
            if not problems or time.monotonic() > deadline:
                return problems
            await asyncio.sleep(1.0)
    finally:
        await engine.stop()


def differences(wanted: Rows, found: Rows, limit: int = 5) -> list[str]:
    """A few readable differences between two keyed row sets."""
    lines = [f"{len(wanted)} wanted, {len(found)} found"] if wanted != found else []
    for key in sorted(set(wanted) | set(found)):
        if wanted.get(key) != found.get(key):
            lines.append(f"{key}: wanted {wanted.get(key)} found {found.get(key)}")
            if len(lines) >= limit:
                break
    return lines
