"""A real Prometheus scrapes the service and holds the expected series."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import skip_or_fail

from .conftest import VIEWER, Service

SCRAPE_WAIT_S = 60.0
CONFIG = """\
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: supportpulse
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: {token}
    static_configs:
      - targets: ["{target}"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_prometheus_scrapes_engine_and_kpi_series(
    service: Service, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        skip_or_fail("no prometheus binary; apt-get install -y prometheus")
    target = service.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.format(token=VIEWER, target=target), encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        found = _query_until_found(port, 'supportpulse_kpi{kpi="volume"}')
        health = _query(port, "up")
        alert = _query(port, 'supportpulse_alert_state{rule="any-tickets"}')
    finally:
        process.terminate()
        process.wait(30)

    assert found, "Prometheus never stored supportpulse_kpi"
    assert {r["metric"]["stat"] for r in found} == {"tickets", "messages"}
    assert health[0]["value"][1] == "1"
    firing = [r for r in alert if r["metric"]["state"] == "firing"]
    assert firing[0]["value"][1] == "1"


def _query(port: int, expression: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/query", params={"query": expression}, timeout=5
    )
    answer.raise_for_status()
    result: list[dict[str, Any]] = answer.json()["data"]["result"]
    return result


def _query_until_found(port: int, expression: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + SCRAPE_WAIT_S
    while time.monotonic() < deadline:
        try:
            if result := _query(port, expression):
                return result
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return []
