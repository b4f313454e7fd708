"""`supportpulse run` fills the store while `kpis` and `status` read it."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

CLI = (
    shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    or "supportpulse"
)
UNTIL = "2030-01-01T00:00:00Z"

pytestmark = pytest.mark.timeout(300)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.shared_data
def test_run_replay_moves_kpis_while_running_and_ends_equal_to_ingest(
    tmp_path: Path, replicated_twcs: Callable[[Path, int], Path]
) -> None:
    tweets = replicated_twcs(tmp_path / "tweets.csv", 20)
    config = tmp_path / "live.json"
    config.write_text(json.dumps({
        "store": str(tmp_path / "live.duckdb"),
        "engine": {"status_file": str(tmp_path / "status.json"),
                   "batch_records": 50, "batch_wait": "20ms"},
        "sources": [{"name": "replay", "type": "replay",
                     "options": {"path": str(tweets), "speed": 0}}],
    }))  # fmt: skip

    engine = subprocess.Popen(
        [CLI, "run", "--no-serve", "-c", str(config), "--exit-when-done"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen: list[int] = []
    states: list[str] = []
    while engine.poll() is None:
        done = _cli("kpis", "-c", str(config), "--json", "--until", UNTIL)
        if done.returncode == 0 and json.loads(done.stdout)["groups"]:
            seen.append(json.loads(done.stdout)["groups"][0]["tickets"])
        status = _cli("status", "-c", str(config), "--json")
        if status.returncode == 0:
            states.extend(s["state"] for s in json.loads(status.stdout)["sources"])
        time.sleep(0.2)
    _, errors = engine.communicate(timeout=60)

    assert engine.returncode == 0, errors
    assert len(seen) >= 2, "kpis never read the store while the engine ran"
    assert seen == sorted(seen)
    assert states

    ingested = tmp_path / "ingest.duckdb"
    assert _cli("ingest", str(tweets), "--store", str(ingested)).returncode == 0
    live = _cli("kpis", "-c", str(config), "--json", "--until", UNTIL)
    batch = _cli("kpis", "--store", str(ingested), "--json", "--until", UNTIL)
    assert _figures(live.stdout) == _figures(batch.stdout)


def _figures(text: str) -> object:
    # Means sum in a different order on the two paths: equal to 9 digits.
    return json.loads(text, parse_float=lambda value: round(float(value), 9))["groups"]


@pytest.mark.shared_data
def test_run_sigterm_drains_and_commits_what_it_stored(
    tmp_path: Path, replicated_twcs: Callable[[Path, int], Path]
) -> None:
    tweets = replicated_twcs(tmp_path / "tweets.csv", 2)
    store = tmp_path / "live.duckdb"
    config = tmp_path / "live.json"
    config.write_text(json.dumps({
        "store": str(store),
        "engine": {"status_file": str(tmp_path / "status.json"), "batch_wait": "20ms"},
        # Slow enough that the replay is still running when the signal comes.
        "sources": [{"name": "replay", "type": "replay",
                     "options": {"path": str(tweets), "speed": 3000}}],
    }))  # fmt: skip
    engine = subprocess.Popen(
        [CLI, "run", "--no-serve", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    status = tmp_path / "status.json"
    while (
        not status.exists()
        or not json.loads(status.read_text())["sources"][0]["records"]
    ):
        assert engine.poll() is None, "the engine ended before it stored anything"
        time.sleep(0.1)

    engine.send_signal(signal.SIGTERM)
    _, errors = engine.communicate(timeout=60)

    assert engine.returncode == 0, errors
    final = json.loads(status.read_text())
    assert final["running"] is False
    stored = final["sources"][0]["records"]
    with duckdb.connect(str(store), read_only=True) as db:
        (cursor,) = db.execute("SELECT cursor FROM source_cursors").fetchone() or (
            "{}",
        )
        (messages,) = db.execute("SELECT count(*) FROM messages").fetchone() or (0,)
    # Every record the engine reported stored is covered by the saved cursor.
    assert json.loads(cursor)["position"] == stored
    assert 0 < messages <= stored < 2000
