"""What the help-desk benchmarks share: a fake vendor in its own process,
and a timed sync of one source through the engine into a DuckDB store.

The fake runs as `python -m supportpulse.fakes VENDOR` on a free loopback
port, so serving it does not compete with the client for one interpreter.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.sources.base import Source
from supportpulse.store import open_store, parse_store_url

ENGINE = EngineSettings(batch_wait=timedelta(milliseconds=50))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fake_vendor(vendor: str, tickets: int, seed: int = 1) -> Iterator[str]:
    """Serve a generated account of `tickets` in a child process; its URL."""
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "supportpulse.fakes", vendor, "--port", str(port),
         "--tickets", str(tickets), "--seed", str(seed)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"fake {vendor} did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=30)


def sync_seconds(config: SourceSettings, source: Source, tickets: int) -> float:
    """Seconds the engine takes to bring `tickets` tickets into a new store."""
    settings = Settings(engine=ENGINE, sources=[])

    async def run() -> float:
        with tempfile.TemporaryDirectory() as folder:
            url = parse_store_url(f"duckdb://{Path(folder)}/bench.duckdb")
            with open_store(url) as store:
                engine = Engine(store, settings)
                await engine.start()
                started = time.perf_counter()
                await engine.add(config, source)
                while await engine.query(store.count, "tickets") < tickets:
                    await asyncio.sleep(0.2)
                elapsed = time.perf_counter() - started
                await engine.stop()
                return elapsed

    return asyncio.run(run())
