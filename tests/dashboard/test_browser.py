"""End to end in headless Chromium: the dashboard process, a real service, and
what a person sees on the page."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import skip_or_fail
from supportpulse.dashboard import views
from supportpulse.dashboard.client import ApiClient
from supportpulse.dashboard.launch import streamlit_command, streamlit_env

from .conftest import BACKLOG_RULE, Service, start_service, stop_service

pytestmark = [pytest.mark.shared_data, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: How long the page may take to show what it is waiting for.
SHOWN_WITHIN_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}; apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_dashboard(api_url: str) -> tuple[str, subprocess.Popen[bytes]]:
    """The dashboard process for `api_url`, once it answers its health check."""
    port = _free_port()
    env = {k: v for k, v in streamlit_env(api_url).items() if "TOKEN" not in k}
    process = subprocess.Popen(
        streamlit_command("127.0.0.1", port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SHOWN_WITHIN_MS / 1000
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                return url, process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("the dashboard never answered its health check")


@pytest.fixture(scope="module")
def replayed(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    """A service replaying the twcs sample to its end, and a dashboard for it."""
    sample = shared_data / "twcs" / "twcs_head_1000.csv"
    service = start_service(tmp_path_factory.mktemp("replay"), [], replay=sample)
    _wait_replayed(service)
    url, dashboard = start_dashboard(service.url)
    yield service, url
    dashboard.terminate()
    dashboard.wait(30)
    stop_service(service)


def _wait_replayed(service: Service) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sources = httpx.get(f"{service.url}/api/v1/sources", timeout=10).json()
        if sources["sources"] and sources["sources"][0]["state"] == "stopped":
            return
        time.sleep(0.5)
    pytest.fail("the replay never finished")


def _tiles(page: Any) -> dict[str, str]:
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.first.wait_for(timeout=SHOWN_WITHIN_MS)
    shown = {}
    for index in range(metrics.count()):
        metric = metrics.nth(index)
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        value = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
        shown[label] = value
    return shown


def test_browser_tiles_show_the_figures_the_api_returns_for_a_replay(
    browser: Any, replayed: tuple[Service, str]
) -> None:
    service, url = replayed
    page = browser.new_page(viewport={"width": 1600, "height": 1000})

    page.goto(f"{url}/?window=all")
    shown = _tiles(page)

    api = ApiClient(service.url)
    expected = {tile.label: tile.value for tile in views.tiles(api.kpis(), None)}
    api.close()
    assert shown == expected
    assert shown["Volume"] != "0"
    page.close()


def test_browser_alert_appears_in_the_panel_when_it_fires(
    browser: Any, shared_data: Path, tmp_path: Path
) -> None:
    service = start_service(tmp_path, [BACKLOG_RULE])
    url, dashboard = start_dashboard(service.url)
    try:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{url}/?window=all")
        page.get_by_text("Alerts", exact=True).wait_for(timeout=SHOWN_WITHIN_MS)
        assert page.get_by_text("Firing:").count() == 0

        # Tickets arrive, nobody resolves them, the backlog rule fires; the
        # panel's auto-refresh (5 s by default) brings it on screen.
        sample = shared_data / "tickets_min.csv"
        with sample.open("rb") as handle:
            answer = httpx.post(
                f"{service.url}/api/v1/ingest", files={"file": handle}, timeout=60
            )
        assert answer.status_code == 200

        page.get_by_text("Firing: backlog-high").wait_for(timeout=SHOWN_WITHIN_MS)
        page.close()
    finally:
        dashboard.terminate()
        dashboard.wait(30)
        stop_service(service)


def test_browser_upload_with_bad_rows_shows_its_quarantine_report(
    browser: Any, replayed: tuple[Service, str], tmp_path: Path
) -> None:
    _, url = replayed
    upload = tmp_path / "export.csv"
    upload.write_text(
        "ticket_id,created_at,priority\n"
        "e-1,2024-01-02T10:00:00Z,high\n"
        "e-2,yesterday-ish,low\n",
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(url)

    page.get_by_role("tab", name="Upload").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(upload)
    )
    page.get_by_role("button", name="Ingest").click()

    page.get_by_text("1 row quarantined").wait_for(timeout=SHOWN_WITHIN_MS)
    # The table draws on a canvas; its cells are mirrored for screen readers.
    cells = page.locator('[data-testid="stDataFrame"] [data-testid^="glide-cell-"]')
    cells.first.wait_for(state="attached", timeout=SHOWN_WITHIN_MS)
    texts = [text.strip() for text in cells.all_inner_texts()]
    assert "3" in texts
    assert any(text.startswith("created_at 'yesterday-ish'") for text in texts)
    page.close()
