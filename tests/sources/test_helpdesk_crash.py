"""`supportpulse run` killed with SIGKILL mid-sync, again and again, then run
to the end, leaves the store exactly as the vendor's account is."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.sources import test_freshdesk_sync as fd
from tests.sources import test_intercom_sync as ic
from tests.sources.helpdesk_sync import Mutator, store_rows

from supportpulse.fakes import Faults, serving
from supportpulse.fakes.freshdesk_desk import FreshdeskDesk
from supportpulse.fakes.intercom_desk import IntercomDesk
from supportpulse.store import open_store, parse_store_url

pytestmark = pytest.mark.timeout(600)

CLI = (
    shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    or "supportpulse"
)
SECRET_ENV = "HELPDESK_TEST_SECRET"
#: The account, the app serving it, its secret, the store check, the options.
Built = tuple[Any, Any, str, Callable[..., list[str]], dict[str, Any]]


def _freshdesk(faults: Faults) -> Built:
    desk = FreshdeskDesk(seed=21)
    desk.populate(1500)
    options = {
        "api_key": f"${{{SECRET_ENV}}}",
        "account_rate_per_min": 30000,
        "concurrency": 8,
    }
    return (
        desk,
        fd.faulty_app(desk, faults, credits_per_window=3000, window_s=1.0),
        fd.KEY,
        fd.check_against(desk),
        options,
    )


def _intercom(faults: Faults) -> Built:
    desk = IntercomDesk(seed=22)
    desk.populate(1500)
    options = {"access_token": f"${{{SECRET_ENV}}}", "account_rate_per_min": 30000,
               "concurrency": 8, "category_attribute": "issue_type"}  # fmt: skip
    return (
        desk,
        ic.faulty_app(desk, faults, calls_per_window=1500, window_s=1.0),
        ic.TOKEN,
        ic.check_against(desk),
        options,
    )


def _config(tmp_path: Path, kind: str, url: str, options: dict[str, Any]) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "store": str(tmp_path / "store.duckdb"),
        "engine": {"status_file": str(tmp_path / "status.json"), "batch_wait": "20ms",
                   "backoff_base": "50ms", "backoff_cap": "1s",
                   "failures_before_open": 1000},
        "sources": [{"name": kind, "type": kind, "interval": "200ms", "timeout": "120s",
                     "options": {"base_url": url, **options}}],
    }))  # fmt: skip
    return config


def _run(config: Path, secret: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLI, "run", "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, SECRET_ENV: secret},
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["freshdesk", "intercom"])
def test_helpdesk_sync_killed_mid_sync_ends_equal_to_the_account(
    tmp_path: Path, kind: str
) -> None:
    faults = Faults(seed=31, retry_after_s=1.0, slow_s=0.05)
    faults.enable(throttle=0.002, server_error=0.02, drop=0.01, slow=0.02)
    build = _freshdesk if kind == "freshdesk" else _intercom
    desk, app, secret, check, options = build(faults)
    chance = random.Random(41)

    with serving(app) as served:
        config = _config(tmp_path, kind, served.url, options)
        kills = 0
        with Mutator(lambda: desk.mutate(chance), every_s=0.02):
            for _ in range(6):
                process = _run(config, secret)
                time.sleep(chance.uniform(1.5, 4.0))
                assert process.poll() is None, process.communicate()[1].decode()[-2000:]
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                kills += 1
        faults.disable()

        problems = ["never compared"]
        for _ in range(12):
            process = _run(config, secret)
            time.sleep(8)
            process.send_signal(signal.SIGTERM)
            _, errors = process.communicate(timeout=60)
            assert process.returncode == 0, errors.decode()[-2000:]
            assert secret not in errors.decode()
            url = parse_store_url(f"duckdb://{tmp_path}/store.duckdb")
            with open_store(url) as store:
                problems = check(*store_rows(store, kind))
            if not problems:
                break

    assert kills == 6
    assert not problems, "\n".join(problems)
