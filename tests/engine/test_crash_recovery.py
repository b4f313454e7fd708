"""Killing the engine with SIGKILL at any moment loses and doubles nothing."""

from __future__ import annotations

import csv
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

CLI = (
    shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    or "supportpulse"
)


def _replicated_twcs(source: Path, target: Path, copies: int) -> Path:
    """The twcs sample `copies` times over with fresh ids, for a longer replay."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def shifted(ids: str, offset: int) -> str:
        return ",".join(str(int(float(i)) + offset) for i in ids.split(",") if i)

    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(copies):
            offset = copy * 10_000_000
            for row in rows:
                parent = row["in_response_to_tweet_id"]
                writer.writerow({
                    **row,
                    "tweet_id": int(row["tweet_id"]) + offset,
                    "response_tweet_id": shifted(row["response_tweet_id"], offset),
                    "in_response_to_tweet_id": f"{shifted(parent, offset)}.0" if parent else "",
                })  # fmt: skip
    return target


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
        [CLI, "run", "-c", str(config), "--exit-when-done"],
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
    tmp_path: Path, shared_data: Path
) -> None:
    tweets = _replicated_twcs(
        shared_data / "twcs" / "twcs_head_1000.csv", tmp_path / "tweets.csv", copies=8
    )
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
