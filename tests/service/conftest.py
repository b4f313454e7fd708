"""A real service for the tests: an Engine on a real store, uvicorn on an
ephemeral loopback port, in a thread with its own event loop.

Tests talk to it over HTTP with httpx, as the dashboard does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportpulse.config import Settings
from supportpulse.engine.alerting import EngineAlerts
from supportpulse.engine.runner import Engine
from supportpulse.notify.notifier import Notifier
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.service.server import address, bind, make_server
from supportpulse.store import open_store, parse_store_url

#: ../shared/data beside the project, as in the top-level conftest.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

ADMIN = "admin-canary-7d1f0c"
VIEWER = "viewer-canary-93ab2e"
START_TIMEOUT_S = 30.0


@dataclass
class Service:
    """A running service: its base URL and the objects behind it."""

    url: str
    runtime: ServiceRuntime
    loop: asyncio.AbstractEventLoop
    settings: Settings

    def client(self, token: str | None = ADMIN) -> httpx.Client:
        """An HTTP client, authenticated with `token` when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the service's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)


def settings_for(folder: Path, **overrides: Any) -> Settings:
    """Settings for a test service with both tokens and a quick engine."""
    document: dict[str, Any] = {
        "service": {
            "port": 0,
            "admin_token": ADMIN,
            "viewer_token": VIEWER,
            "sources_file": str(folder / "api-sources.json"),
            "kpi_cache": "1s",
            # Sources added in tests read the test's files and the shared data.
            "file_roots": [str(folder), str(SHARED_DATA)],
        },
        "engine": {
            "batch_wait": "20ms",
            "alert_min_gap": "0s",
            "backoff_base": "50ms",
            "backoff_cap": "200ms",
            "failures_before_open": 2,
        },
        "alerts": {
            "rules": [
                {
                    "name": "any-tickets",
                    "kpi": "tickets",
                    "window": "10000d",
                    "op": ">",
                    "threshold": 0,
                }
            ]
        },
    }
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(document.get(section), dict):
            document[section] = {**document[section], **values}
        else:
            document[section] = values
    return Settings.model_validate(document)


@contextlib.contextmanager
def running_service(store_url: str, settings: Settings) -> Iterator[Service]:
    """Start engine and service in a thread; stop both when the block ends."""
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        with open_store(parse_store_url(store_url), shared=True) as store:
            engine = Engine(store, settings)
            notifier = Notifier.from_settings(settings.alerts)
            await notifier.start()
            alerts = EngineAlerts(engine, notifier, every_s=3600, min_gap_s=0)
            await engine.start()
            alerts.attach()
            runtime = ServiceRuntime(engine, alerts)
            await runtime.start()
            listener = bind(settings.service)
            server = make_server(runtime)
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.01)
            holder.update(
                url=address(listener),
                runtime=runtime,
                loop=asyncio.get_running_loop(),
                stop=stop,
            )
            started.set()
            try:
                await stop.wait()
            finally:
                await runtime.stop()
                server.should_exit = True
                await serving
                await alerts.detach()
                await engine.stop()
                await notifier.aclose()
                listener.close()

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            holder["error"] = exc
            started.set()

    thread = threading.Thread(target=thread_main, name="service", daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT_S) or "error" in holder:
        raise RuntimeError(f"service did not start: {holder.get('error')!r}")
    try:
        yield Service(holder["url"], holder["runtime"], holder["loop"], settings)
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(60)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def upload(client: httpx.Client, path: Path, **form: str) -> httpx.Response:
    """POST a file to /api/v1/ingest."""
    with path.open("rb") as handle:
        return client.post(
            "/api/v1/ingest", files={"file": (path.name, handle)}, data=form
        )


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[Service]:
    """A service over a DuckDB store holding the twcs sample."""
    folder = tmp_path_factory.mktemp("service")
    settings = settings_for(folder)
    with running_service(f"duckdb://{folder}/store.duckdb", settings) as running:
        with running.client() as client:
            answer = upload(client, shared_data / "twcs" / "twcs_head_1000.csv")
            assert answer.status_code == 200, answer.text
        yield running


Wait = Callable[[Callable[[], bool], str], None]


@pytest.fixture
def wait_until() -> Wait:
    """Poll a condition for up to 20 s; fail with `what` when it never holds."""

    def wait(condition: Callable[[], bool], what: str) -> None:
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if condition():
                return
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}")

    return wait
