"""Killing the engine with SIGKILL at any moment loses and doubles nothing."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

CLI = (
    shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    or "supportpulse"
)


def _config(tmp_path: Path, data: Path, name: str) -> Path:
    config = tmp_path / f"{name}.json"
    config.write_text(json.dumps({
        "store": str(tmp_path / f"{name}.duckdb"),
        "engine": {"status_file": str(tmp_path / f"{name}-status.json"),
                   "batch_records": 40, "batch_wait": 0.01},
        "sources": [{"name": "replay", "type": "replay", "options": {
            "path": str(data), "speed": 0}}],
    }))  # fmt: skip
    return config


def _run(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLI, "run", "--no-serve", "-c", str(config), "--exit-when-done"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return {
            table: db.execute(
                f"SELECT * EXCLUDE (raw) FROM {table} ORDER BY ALL"
            ).fetchall()
            for table in ("tickets", "messages")
        }


@pytest.mark.shared_data
def test_engine_killed_at_random_points_ends_with_the_uninterrupted_store(
    tmp_path: Path, replicated_twcs: Callable[[Path, int], Path]
) -> None:
    tweets = replicated_twcs(tmp_path / "tweets.csv", 8)
    calm = _config(tmp_path, tweets, "calm")
    assert _run(calm).wait(timeout=120) == 0
    expected = _dump(tmp_path / "calm.duckdb")
    assert len(expected["messages"]) == 8000

    crashed = _config(tmp_path, tweets, "crashed")
    chance = random.Random(20261204)
    kills = 0
    for _ in range(15):
        process = _run(crashed)
        time.sleep(chance.uniform(0.3, 2.0))
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1

    final = _run(crashed)
    _, errors = final.communicate(timeout=120)
    assert final.returncode == 0, errors.decode()
    assert kills > 0, "the run ended before any kill; make it longer"
    assert _dump(tmp_path / "crashed.duckdb") == expected
