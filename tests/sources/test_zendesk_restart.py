"""`supportpulse run` killed with SIGKILL mid-sync, then restarted, ends with
exactly the fake Zendesk account's state."""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportpulse.fakes import Faults, ServedApp, serving
from supportpulse.fakes.zendesk import ZendeskFake, ZendeskFakeConfig
from supportpulse.fakes.zendesk_account import ZendeskAccount
from supportpulse.store import open_store, parse_store_url

from .test_zendesk import Mutator
from .zendesk_expected import differences, expected, snapshot

pytestmark = pytest.mark.timeout(300)

CLI = (
    shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    or "supportpulse"
)


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskFake, ServedApp]]:
    account = ZendeskAccount(seed=5)
    account.populate(1000)
    faults = Faults(seed=5, storm_length=2, paths=("/api/",))
    faults.enable(throttle=0.003, server_error=0.02, drop=0.02, slow=0.02)
    config = ZendeskFakeConfig(hide_recent_s=1, window_s=1.0, export_limit=5, seed=5)
    fake = ZendeskFake(account, config, faults)
    with serving(fake.app) as served:
        yield fake, served


def _config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "zendesk.json"
    config.write_text(json.dumps({
        "store": str(tmp_path / "zd.duckdb"),
        "engine": {"status_file": str(tmp_path / "status.json"), "batch_wait": 0.01,
                   "backoff_base": 0.05, "backoff_cap": 1, "failures_before_open": 1000},
        "sources": [{"name": "zd", "type": "zendesk", "interval": 0.2, "timeout": 60,
                     "options": {"base_url": url, "email": "admin@acme.example",
                                 "api_token": "${ZENDESK_TOKEN}", "per_page": 50,
                                 "account_rate_per_min": 1000000,
                                 "export_rate_per_min": 1000000}}],
    }))  # fmt: skip
    return config


def _run(config: Path) -> subprocess.Popen[bytes]:
    """Start the engine and wait until it runs (its status file appears)."""
    status = config.parent / "status.json"
    status.unlink(missing_ok=True)
    env = {**os.environ, "ZENDESK_TOKEN": "fake-zendesk-token"}
    command = [CLI, "run", "-c", str(config)]
    if _serves():
        # The engine's HTTP service would take a fixed port; none is needed.
        command.append("--no-serve")
    with (config.parent / "run.log").open("ab") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log, env=env
        )
    deadline = time.monotonic() + 60
    while (
        not status.exists() and process.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return process


def _log(tmp_path: Path) -> str:
    return (tmp_path / "run.log").read_text(errors="replace")[-3000:]


@functools.cache
def _serves() -> bool:
    """Whether `run` has a service it can be told not to start."""
    shown = subprocess.run([CLI, "run", "--help"], capture_output=True, text=True)
    return "--no-serve" in shown.stdout


def _compare(tmp_path: Path, account: ZendeskAccount) -> list[str]:
    with open_store(parse_store_url(f"duckdb://{tmp_path}/zd.duckdb")) as store:
        have_tickets, have_messages = snapshot(store, "zd")
    want_tickets, want_messages = expected(account)
    return differences(want_tickets, have_tickets, "tickets") + differences(
        want_messages, have_messages, "messages"
    )


def test_zendesk_run_killed_mid_sync_then_restarted_ends_exact(
    zendesk: tuple[ZendeskFake, ServedApp], tmp_path: Path
) -> None:
    fake, served = zendesk
    config = _config(tmp_path, served.url)
    chance = random.Random(20261204)

    kills = 0
    with Mutator(fake.account, changes=300, pause_s=0.03) as mutator:
        while mutator.thread.is_alive() or kills < 3:
            process = _run(config)
            time.sleep(chance.uniform(1.0, 4.0))
            assert process.poll() is None, _log(tmp_path)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills += 1
    fake.faults.disable()

    problems: list[str] = ["not compared yet"]
    for _ in range(20):
        process = _run(config)
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.returncode == 0, _log(tmp_path)
        problems = _compare(tmp_path, fake.account)
        if not problems:
            break

    assert problems == []
    assert kills >= 3
    assert fake.requests["export"] > kills
