"""`supportpulse dashboard` and `supportpulse demo`: arguments checked, and the
dashboard's server never outlives the command."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from .conftest import Run

pytestmark = pytest.mark.timeout(120)


def test_dashboard_refuses_a_non_loopback_host_without_public(run: Run) -> None:
    done = run("dashboard", "--host", "0.0.0.0", "--port", "8599")

    assert done.returncode == 1
    assert done.stderr.startswith("Error: --host '0.0.0.0' is not a loopback address")
    assert "--public" in done.stderr


def test_demo_rejects_a_duration_it_cannot_read(run: Run) -> None:
    done = run("demo", "--duration", "soon")

    assert done.returncode == 2
    assert "'soon' is not a duration" in done.stderr


def test_demo_names_a_replay_file_that_does_not_exist(run: Run) -> None:
    done = run("demo", "--replay", "missing.csv")

    assert done.returncode == 1
    assert done.stderr.strip() == "Error: --replay missing.csv: no such file"


def test_dashboard_serves_and_its_server_ends_with_the_command(tmp_path: Path) -> None:
    script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    assert script is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = subprocess.Popen(
        [script, "dashboard", "--api", "http://127.0.0.1:9", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            if health.status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        command.kill()
        pytest.fail("the dashboard never answered its health check")
    servers = psutil.Process(command.pid).children(recursive=True)

    # SIGTERM ends the command at once; its Streamlit server must follow.
    command.send_signal(signal.SIGTERM)
    command.wait(30)
    _, alive = psutil.wait_procs(servers, timeout=30)

    assert servers
    assert alive == []
    assert command.stderr is not None
    assert f"Dashboard: http://127.0.0.1:{port}" in command.stderr.read()
