"""GET /stream: KPI, source and alert events arrive after the change behind them."""

from __future__ import annotations

import json
import queue
import threading
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from .conftest import running_service, settings_for, upload

EVENT_WAIT_S = 20.0


class Listener:
    """Reads one event stream in a thread and queues (event, data) pairs."""

    def __init__(self, client: httpx.Client) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.seen: list[tuple[str, Any]] = []
        self.client = client
        self.open = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.open.wait(EVENT_WAIT_S), "the stream never opened"

    def _read(self) -> None:
        try:
            with connect_sse(self.client, "GET", "/api/v1/stream") as source:
                self.open.set()
                for event in source.iter_sse():
                    self.events.put((event.event, json.loads(event.data)))
        except httpx.HTTPError:
            return

    def next(self, kind: str, matching: Any = lambda data: True) -> Any:
        """The first event of `kind` not taken yet whose data satisfies
        `matching`; events of other kinds stay for later calls."""
        while True:
            for index, (event, data) in enumerate(self.seen):
                if event == kind and matching(data):
                    del self.seen[index]
                    return data
            self.seen.append(self.events.get(timeout=EVENT_WAIT_S))


def test_stream_sends_kpis_source_and_alert_events_after_a_write(
    tmp_path: Path, shared_data: Path
) -> None:
    settings = settings_for(tmp_path)
    url = f"duckdb://{tmp_path}/s.duckdb"
    with running_service(url, settings) as running:
        viewer = running.client()
        listener = Listener(viewer)
        first = listener.next("kpis")
        assert first["groups"] == []

        with running.client() as admin:
            assert upload(admin, shared_data / "tickets_min.csv").status_code == 200
            kpis = listener.next("kpis", lambda d: d["groups"] != [])
            alert = listener.next("alert")

            admin.post(
                "/api/v1/sources",
                json={
                    "name": "slow",
                    "type": "replay",
                    "options": {
                        "path": str(shared_data / "tickets_min.csv"),
                        "speed": 0.0001,
                    },
                },
            )
            admin.post("/api/v1/sources/slow/pause")
            paused = listener.next("source", lambda d: d["state"] == "paused")
        viewer.close()

    assert kpis["groups"][0]["tickets"] == 20
    assert (alert["rule"], alert["state"]) == ("any-tickets", "firing")
    assert paused["name"] == "slow"


def test_stream_sends_heartbeat_comments(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    with running_service(f"duckdb://{tmp_path}/s.duckdb", settings) as running:
        running.runtime.hub.ping_s = 0.2
        with (
            running.client() as client,
            client.stream("GET", "/api/v1/stream") as response,
        ):
            seen = ""
            for text in response.iter_text():
                seen += text
                if ": ping" in seen:
                    break

    assert ": ping" in seen
