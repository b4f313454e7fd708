"""`supportpulse run` serves the API from the engine process and stops cleanly."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_kpis_of_what_it_ingests_then_stops_on_sigterm(
    tmp_path: Path, shared_data: Path
) -> None:
    script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    assert script is not None
    port = _free_port()
    engine = subprocess.Popen(
        [script, "run", "--replay", str(shared_data / "tickets_min.csv"),
         "--speed", "0", "--port", str(port), "--store", str(tmp_path / "s.duckdb")],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    tickets = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and tickets < 20:
            try:
                groups = httpx.get(f"{base}/api/v1/kpis", timeout=5).json()["groups"]
                tickets = groups[0]["tickets"] if groups else 0
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        health = httpx.get(f"{base}/healthz", timeout=5)
    finally:
        engine.send_signal(signal.SIGTERM)
        _, errors = engine.communicate(timeout=60)

    assert tickets == 20
    assert health.json() == {"status": "ok"}
    assert engine.returncode == 0, errors


def test_run_reports_a_taken_port_in_one_line(tmp_path: Path) -> None:
    script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    assert script is not None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [script, "serve", "--port", str(port), "--store", str(tmp_path / "s.duckdb")],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
            env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip

    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}")
