"""`supportpulse demo`: API and dashboard come alive, an alert fires, and no
process outlives the demo, whether it ends by itself or is killed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.timeout(240)

#: How long the demo may take to show what it promises (the README says a minute).
ALIVE_WITHIN_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Demo:
    """A running `supportpulse demo` and the addresses it printed."""

    def __init__(
        self, tmp_path: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
        assert script is not None, "pip install -e . first"
        self.port = _free_port()
        clean = {
            k: v for k, v in os.environ.items() if not k.startswith("SUPPORTPULSE_")
        }
        self.process = subprocess.Popen(
            [script, "demo", "--port", str(self.port), *args],
            cwd=tmp_path, env={**clean, **(env or {})}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.lines: list[str] = []
        self._printed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._printed.wait(ALIVE_WITHIN_S), f"no addresses printed: {self.lines}"
        self.api = re.search(r"API: (\S+)", "".join(self.lines))[1]  # type: ignore[index]
        self.dashboard = f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith("API:"):
                self._printed.set()

    def eventually(self, check: str, probe: object) -> None:
        deadline = time.monotonic() + ALIVE_WITHIN_S
        while time.monotonic() < deadline:
            try:
                if probe():  # type: ignore[operator]
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"the demo never reached: {check}")


@pytest.fixture
def demo_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    leftovers = list(tmp_path.iterdir())
    assert leftovers == [], f"the demo left files behind: {leftovers}"


def _firing(api: str) -> bool:
    alerts = httpx.get(f"{api}/api/v1/alerts", timeout=10).json()["alerts"]
    return any(alert["state"] == "firing" for alert in alerts)


def _tickets(api: str) -> int:
    document = httpx.get(f"{api}/api/v1/kpis", timeout=10).json()
    return int(document["groups"][0]["tickets"]) if document["groups"] else 0


def _dashboard_up(url: str) -> bool:
    return httpx.get(f"{url}/_stcore/health", timeout=5).status_code == 200


def test_demo_comes_alive_fires_an_alert_and_stops_after_its_duration(
    demo_path: Path,
) -> None:
    demo = Demo(demo_path, "--duration", "60s")
    children = psutil.Process(demo.process.pid).children(recursive=True)

    demo.eventually("tickets in the store", lambda: _tickets(demo.api) > 0)
    demo.eventually("a firing alert", lambda: _firing(demo.api))
    demo.eventually("the dashboard answering", lambda: _dashboard_up(demo.dashboard))
    code = demo.process.wait(120)

    assert code == 0
    assert children, "the dashboard should run as a child process"
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []


def test_demo_replays_a_file_instead_when_asked(
    demo_path: Path, shared_data: Path
) -> None:
    sample = shared_data / "twcs" / "twcs_head_1000.csv"
    api_port = _free_port()
    demo = Demo(
        demo_path, "--replay", str(sample), "--speed", "0", "--duration", "40s",
        "--api-port", str(api_port),
    )  # fmt: skip

    assert demo.api == f"http://127.0.0.1:{api_port}"
    demo.eventually("tickets in the store", lambda: _tickets(demo.api) > 0)
    sources = httpx.get(f"{demo.api}/api/v1/sources", timeout=10).json()["sources"]

    assert [source["type"] for source in sources] == ["replay"]
    assert demo.process.wait(120) == 0


def test_demo_children_end_when_the_demo_is_killed(tmp_path: Path) -> None:
    # A SIGKILL leaves no chance to remove the temporary store: keep it here.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    demo = Demo(tmp_path, env={"TMPDIR": str(scratch)})
    demo.eventually("the dashboard answering", lambda: _dashboard_up(demo.dashboard))
    children = psutil.Process(demo.process.pid).children(recursive=True)

    demo.process.send_signal(signal.SIGKILL)
    demo.process.wait(30)

    assert children
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
