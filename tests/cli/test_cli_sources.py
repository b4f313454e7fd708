"""`supportpulse sources test` shows the mapping and says plainly what fails."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

CLI = (
    shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    or "supportpulse"
)


def _config(tmp_path: Path) -> Path:
    database = tmp_path / "helpdesk.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE support_tickets (ticket_id INTEGER PRIMARY KEY, created_at "
            "TIMESTAMP, team TEXT, priority TEXT, updated_at TIMESTAMP)"
        )
        connection.executemany(
            "INSERT INTO support_tickets VALUES (?, '2024-05-01 09:00:00', 'billing', "
            "'P1', '2024-05-01 10:00:00')",
            [(n,) for n in range(5)],
        )
    config = tmp_path / "sources.json"
    config.write_text(json.dumps({"sources": [
        {"name": "helpdesk", "type": "database", "options": {
            "url": f"sqlite:///{database}", "table": "support_tickets",
            "values": {"priority": {"P1": "urgent"}}}},
        {"name": "offline", "type": "database", "options": {
            "url": "postgresql+psycopg://sp:CANARY-pw@127.0.0.1:1/helpdesk",
            "table": "tickets"}},
    ]}))  # fmt: skip
    return config


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def test_sources_test_shows_mapping_and_mapped_rows_without_writing(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)

    done = _run("sources", "test", "helpdesk", "-c", str(config))

    assert done.returncode == 0, done.stderr
    assert "external_id <- ticket_id" in done.stdout
    assert (
        "ticket 0: created 2024-05-01 09:00, team billing, priority urgent"
        in done.stdout
    )
    assert not list(tmp_path.glob("*.duckdb"))


def test_sources_test_reports_an_unreachable_database_in_one_line(
    tmp_path: Path,
) -> None:
    done = _run("sources", "test", "offline", "-c", str(_config(tmp_path)))

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: source 'offline' does not work:")
    assert "Connection refused" in done.stderr
    assert "CANARY" not in done.stdout + done.stderr


def test_sources_test_names_the_known_sources_for_a_typo(tmp_path: Path) -> None:
    done = _run("sources", "test", "helpdsk", "-c", str(_config(tmp_path)))

    assert done.returncode == 1
    assert "sources: helpdesk, offline" in done.stderr


def test_sources_test_points_at_values_no_kpi_understands(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with sqlite3.connect(tmp_path / "helpdesk.sqlite") as connection:
        connection.execute(
            "UPDATE support_tickets SET priority = 'P9' WHERE ticket_id = 1"
        )

    done = _run("sources", "test", "helpdesk", "-c", str(config))

    assert done.returncode == 0, done.stderr
    assert "check: priority values p9 have no SLA target" in done.stdout
    assert "values.priority" in done.stdout
