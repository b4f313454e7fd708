"""A real supportpulse service for the dashboard to read: the installed CLI's
`serve` on an ephemeral loopback port over a DuckDB store holding the twcs
sample, with alert rules evaluated every second."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from supportpulse.config import Settings
from supportpulse.ingest.pipeline import IngestOptions, ingest_file
from supportpulse.store import open_store, parse_store_url

START_TIMEOUT_S = 60.0

#: Fires as soon as the store has an open ticket: the twcs sample resolves none.
BACKLOG_RULE = {
    "name": "backlog-high",
    "kpi": "backlog",
    "window": "1h",
    "op": ">",
    "threshold": 0,
    "severity": "critical",
}


@dataclass
class Service:
    """A running service: its base URL and the process behind it."""

    url: str
    process: subprocess.Popen[str]
    workdir: Path
    log: list[str]


def _cli() -> str:
    found = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("no supportpulse script beside the interpreter; pip install -e .")
    return found


def start_service(
    workdir: Path,
    rules: list[dict[str, object]],
    data: Path | None = None,
    replay: Path | None = None,
    service: dict[str, object] | None = None,
) -> Service:
    """`supportpulse serve` on 127.0.0.1:0 over a store holding `data`; with
    `replay`, `supportpulse run` streaming that file as fast as it can."""
    store = workdir / "store.duckdb"
    if data is not None:
        with open_store(parse_store_url(f"duckdb://{store}")) as opened:
            ingest_file(data, opened, Settings(), IngestOptions())
    config = workdir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": str(store),
                "alerts": {"rules": rules},
                "engine": {
                    "alert_every": "1s",
                    "status_file": str(workdir / "status.json"),
                },
                "service": {
                    "sources_file": str(workdir / "sources.json"),
                    **(service or {}),
                },
            }
        ),
        encoding="utf-8",
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SUPPORTPULSE_")
    }
    command = ["run", "--replay", str(replay), "--speed", "0"] if replay else ["serve"]
    process = subprocess.Popen(
        [_cli(), "--log-level", "info", "--log-format", "json", *command,
         "-c", str(config), "--host", "127.0.0.1", "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "service_started":
                url.append(event["url"])
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(START_TIMEOUT_S):
        process.kill()
        pytest.fail("the service did not start:\n" + "".join(lines[-20:]))
    running = Service(url[0], process, workdir, lines)
    _wait_ready(running)
    return running


def _wait_ready(service: Service) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{service.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("the service never answered /healthz")


def stop_service(service: Service) -> None:
    """SIGTERM, then SIGKILL if it does not drain in time."""
    service.process.terminate()
    try:
        service.process.wait(30)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@pytest.fixture(scope="module")
def twcs_service(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A service over the twcs sample whose backlog rule fires at once."""
    workdir = tmp_path_factory.mktemp("service")
    service = start_service(
        workdir, [BACKLOG_RULE], shared_data / "twcs" / "twcs_head_1000.csv"
    )
    yield service
    stop_service(service)
