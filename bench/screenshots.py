"""Screenshots of the dashboard's main views for docs/screenshots/.

Runs `supportpulse demo` (the simulated help desk) on loopback, waits until it
has caught up with the present and an alert fires, then photographs each view
in Debian's headless Chromium. Not part of the test run.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: Tall enough to show each tab whole; Streamlit scrolls inside its own frame.
LAPTOP = {"width": 1440, "height": 1800}
WALL = {"width": 2560, "height": 1440}
#: The demo's simulated history takes about this long to catch up with now.
CATCH_UP_S = 45.0
BAD_EXPORT = (
    "ticket_id,created_at,priority,customer_message\n"
    "T-1,2024-05-02T09:15:00Z,high,The app crashes on start\n"
    "T-2,sometime last week,low,Invoice is wrong\n"
    ",2024-05-02T10:00:00Z,normal,No id on this row\n"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_demo(port: int) -> tuple[subprocess.Popen[str], str]:
    script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    if script is None:
        sys.exit("no supportpulse script beside this interpreter; run scripts/setup")
    demo = subprocess.Popen(
        [script, "demo", "--port", str(port), "--duration", "10m"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert demo.stdout is not None
    for line in demo.stdout:
        if match := re.match(r"API: (\S+)", line):
            return demo, match[1]
    sys.exit("the demo ended before printing its addresses")


def _wait_for_alert(api: str) -> None:
    deadline = time.monotonic() + CATCH_UP_S * 3
    started = time.monotonic()
    while time.monotonic() < deadline:
        alerts = httpx.get(f"{api}/api/v1/alerts", timeout=10).json()["alerts"]
        caught_up = time.monotonic() - started > CATCH_UP_S
        if caught_up and any(alert["state"] == "firing" for alert in alerts):
            return
        time.sleep(1)
    sys.exit("no alert fired; is the demo working?")


def _settle(page: Any) -> None:
    # Streamlit keeps drawing after load; wait for its running indicator to go.
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)


def _shoot(browser: Any, url: str, out: Path) -> None:
    page = browser.new_page(viewport=LAPTOP)
    page.goto(f"{url}/?window=24h")
    _settle(page)
    page.screenshot(path=str(out / "overview.png"))

    page.get_by_role("tab", name="Sources").click()
    page.wait_for_timeout(2000)
    page.screenshot(path=str(out / "sources.png"))

    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "export.csv"
        export.write_text(BAD_EXPORT, encoding="utf-8")
        page.get_by_role("tab", name="Upload").click()
        page.locator(
            '[data-testid="stFileUploader"] input[type="file"]'
        ).set_input_files(str(export))
        page.get_by_role("button", name="Ingest").click()
        page.get_by_text("rows quarantined").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "upload.png"))
    page.close()

    wall = browser.new_page(viewport=WALL)
    wall.goto(f"{url}/?window=24h")
    _settle(wall)
    wall.screenshot(path=str(out / "wall.png"))
    wall.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    port = _free_port()
    demo, api = _start_demo(port)
    try:
        _wait_for_alert(api)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            _shoot(browser, f"http://127.0.0.1:{port}", out)
            browser.close()
    finally:
        demo.terminate()
        demo.wait(60)
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
