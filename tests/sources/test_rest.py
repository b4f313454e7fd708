"""The REST source against a local server that fails the way vendors do."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.sources.rest import RestOptions, RestSource
from supportpulse.store import Store, open_store, parse_store_url

RECORDS = [
    {"id": f"T{n:03d}", "created_at": f"2024-01-01T{n % 24:02d}:00:00Z",
     "responded_at": f"2024-01-01T{n % 24:02d}:30:00Z", "priority": "high"}
    for n in range(25)
]  # fmt: skip
PAGE = 10


class _Vendor(ThreadingHTTPServer):
    """Serves RECORDS by cursor; `script` holds failures for the first calls."""

    daemon_threads = True

    def __init__(self, script: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.calls: list[tuple[float, str]] = []
        self.paths: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Vendor

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: dict[str, Any], **headers: str) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        self.server.paths.append(self.path)
        action = self.server.script.pop(0) if self.server.script else "ok"
        self.server.calls.append((time.monotonic(), action))
        if action == "500":
            self._send(500, {"error": "boom"})
        elif action == "429":
            self._send(429, {"error": "slow down"}, Retry_After="1")
        elif action == "hang":
            time.sleep(1.5)
            self._send(200, {"records": []})
        elif action == "401":
            self._send(401, {"error": "bad token"})
        else:
            start = int(query.get("cursor", ["0"])[0])
            # Each page repeats the last record of the one before, as vendors
            # with inclusive cursors do.
            page = RECORDS[max(0, start - 1) : start + PAGE]
            following = start + PAGE if start + PAGE < len(RECORDS) else None
            self._send(200, {"records": page[::-1], "meta": {"next": following}})


@pytest.fixture
def vendor() -> Iterator[Any]:
    servers: list[_Vendor] = []

    def start(script: list[str]) -> _Vendor:
        server = _Vendor(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


def _source(name: str, server: _Vendor) -> SourceSettings:
    return SourceSettings(
        name=name, type="rest", interval=timedelta(milliseconds=20),
        timeout=timedelta(seconds=5),
        options={"url": f"http://127.0.0.1:{server.server_port}/tickets",
                 "next_cursor_path": "meta.next", "timeout_s": 0.5, "rate_per_s": 50},
    )  # fmt: skip


def _run_until_synced(
    store: Store, sources: list[SourceSettings]
) -> list[dict[str, Any]]:
    limits = EngineSettings(
        batch_wait=timedelta(milliseconds=5),
        backoff_base=timedelta(milliseconds=10),
        backoff_cap=timedelta(milliseconds=50),
    )
    settings = Settings(engine=limits, sources=sources)

    async def scenario() -> list[dict[str, Any]]:
        engine = Engine(store, settings)
        await engine.start()
        for _ in range(1000):
            done = [
                s
                for s in engine.status()
                if s["records"] >= 27 or s["state"] == "failed"
            ]
            if len(done) == len(sources):
                break
            await asyncio.sleep(0.02)
        status = engine.status()
        await engine.stop()
        return status

    return asyncio.run(scenario())


def _ids(store: Store, source: str) -> list[str]:
    _, rows = store.fetch(
        "SELECT external_id FROM tickets WHERE source = :s", {"s": source}
    )
    return sorted(row[0] for row in rows)


def test_rest_source_backs_off_as_told_and_loses_or_doubles_nothing(
    tmp_path: Path, vendor: Any
) -> None:
    flaky = vendor(["ok", "500", "429", "hang", "ok"])
    steady = vendor([])
    store = open_store(parse_store_url(str(tmp_path / "rest.duckdb")))

    status = {s["name"]: s for s in _run_until_synced(
        store, [_source("flaky", flaky), _source("steady", steady)]
    )}  # fmt: skip

    expected = sorted(record["id"] for record in RECORDS)
    assert _ids(store, "flaky") == expected
    assert _ids(store, "steady") == expected
    assert status["flaky"]["state"] == "degraded"  # it failed minutes ago
    assert status["steady"]["state"] == "live"

    # The request after the 429 waited at least the Retry-After it was given.
    times = [at for at, _ in flaky.calls]
    actions = [action for _, action in flaky.calls]
    after_429 = times[actions.index("429") + 1]
    assert after_429 - times[actions.index("429")] >= 1.0


def test_rest_source_stops_on_401_and_names_the_fix(
    tmp_path: Path, vendor: Any
) -> None:
    locked = vendor(["401"])
    store = open_store(parse_store_url(str(tmp_path / "rest.duckdb")))

    status = _run_until_synced(store, [_source("locked", locked)])

    assert status[0]["state"] == "failed"
    assert "401" in status[0]["last_error"]
    assert "credentials" in status[0]["last_error"]
    assert len(locked.calls) == 1


def test_rest_sources_of_one_origin_keep_each_ticket_once(
    tmp_path: Path, vendor: Any
) -> None:
    server = vendor([])
    store = open_store(parse_store_url(str(tmp_path / "rest.duckdb")))
    # A webhook relay and a poller of the same help desk: two sources, one origin.
    sources = [
        _source(name, server).model_copy(
            update={"options": {**_source(name, server).options,
                                "record_source": "helpdesk"}}
        )
        for name in ("poller", "relay")
    ]  # fmt: skip

    _run_until_synced(store, sources)

    assert _ids(store, "helpdesk") == sorted(record["id"] for record in RECORDS)


def test_rest_source_keeps_the_url_query_beside_its_cursor(vendor: Any) -> None:
    server = vendor([])
    url = f"http://127.0.0.1:{server.server_port}/tickets?api_key=K%26Y&page_size=10"
    options = RestOptions(url=url, next_cursor_path="meta.next")
    source = RestSource("keyed", options, Settings())

    async def two_pages() -> None:
        first = await source.pull(None)
        await source.pull(first.cursor)
        await source.close()

    asyncio.run(two_pages())

    queries = [parse_qs(urlsplit(path).query) for path in server.paths]
    assert [urlsplit(path).path for path in server.paths] == ["/tickets"] * 2
    assert queries == [
        {"api_key": ["K&Y"], "page_size": ["10"]},
        {"api_key": ["K&Y"], "page_size": ["10"], "cursor": ["10"]},
    ]
