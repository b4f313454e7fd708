"""`supportpulse alerts ...`, run as a user runs it, against a DuckDB store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import typer

from supportpulse.alerts.evaluator import AlertEvaluator
from supportpulse.cli.alerts import alerts_app
from supportpulse.config import load_settings
from supportpulse.store import open_store, parse_store_url

from .helpers import T0, Clock, write_tickets

CONFIG = """\
alerts:
  rules:
    - {name: busy, kpi: tickets, op: '>', threshold: 3, window: 1h, by: [team]}
"""

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """Run `supportpulse alerts ...` on a store where team billing's alert fires."""
    (tmp_path / "config.yaml").write_text(CONFIG)
    store_path = tmp_path / "store.duckdb"
    settings = load_settings(tmp_path / "config.yaml")
    with open_store(parse_store_url(str(store_path))) as store:
        write_tickets(store, 5, T0, team="billing")
        write_tickets(store, 1, T0, team="returns")
        AlertEvaluator(store, settings, Clock(T0 + timedelta(minutes=10))).evaluate()

    script = shutil.which("supportpulse", path=str(Path(sys.executable).parent))
    assert script is not None, "no supportpulse script beside python; pip install -e ."
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTPULSE_")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, "alerts", *args, "--store", str(store_path), "-c", "config.yaml"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def test_alerts_list_shows_each_group(run: Run) -> None:
    table = run("list")
    document = run("list", "--json")

    assert table.returncode == 0, table.stderr
    assert "billing" in table.stdout
    assert "firing" in table.stdout
    rows = json.loads(document.stdout)
    assert [(r["group"], r["state"], r["value"]) for r in rows] == [
        ({"team": "billing"}, "firing", 5.0),
        ({"team": "returns"}, "ok", 1.0),
    ]
    assert rows[0]["fired_at"] == "2024-03-01T12:10:00Z"


def test_alerts_history_shows_transitions_with_values(run: Run) -> None:
    lines = run("history")
    document = run("history", "--json", "--rule", "busy")
    other = run("history", "--rule", "quiet")

    assert lines.stdout.splitlines() == [
        "2024-03-01T12:10:00Z busy for team=billing: ok -> firing "
        "(tickets 5, fires > 3)"
    ]
    (entry,) = json.loads(document.stdout)
    assert entry["value"] == 5.0
    assert entry["notify"] is True
    assert other.stdout.strip() == "No alert history yet."


def test_alerts_ack_acknowledges_a_firing_group(run: Run) -> None:
    done = run("ack", "busy", "--group", '{"team": "billing"}')
    rows = json.loads(run("list", "--json").stdout)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Acknowledged busy for team=billing; quiet until it resolves."
    )
    assert rows[0]["acknowledged_at"] is not None
    assert rows[1]["acknowledged_at"] is None


def test_alerts_ack_of_a_quiet_group_is_an_error(run: Run) -> None:
    done = run("ack", "busy", "--group", '{"team": "returns"}')

    assert done.returncode == 1
    assert done.stderr.startswith("Error: rule 'busy' for team=returns has no pending")


def test_alerts_ack_group_must_name_the_rule_dimensions(run: Run) -> None:
    done = run("ack", "busy", "--group", '{"agent": "ann"}')

    assert done.returncode == 2
    assert "groups by team" in done.stderr


def test_alerts_silence_until_a_span_from_now(run: Run) -> None:
    done = run("silence", "busy", "--until", "2h")
    rows = json.loads(run("list", "--json").stdout)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Silenced busy for every group until ")
    assert all(row["silenced_until"] is not None for row in rows)


def test_alerts_silence_one_group_until_a_time(run: Run) -> None:
    done = run(
        "silence",
        "busy",
        "--until",
        "2999-01-01T00:00",
        "--group",
        '{"team":"billing"}',
    )
    rows = json.loads(run("list", "--json").stdout)

    assert done.stdout.strip() == (
        "Silenced busy for team=billing until 2999-01-01T00:00:00Z."
    )
    assert [row["silenced_until"] for row in rows] == ["2999-01-01T00:00:00Z", None]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["silence", "nope", "--until", "1h"], "no alert rule named 'nope'; configured: busy"),
        (["silence", "busy", "--until", "2001-01-01"], "is not in the future"),
        (["silence", "busy", "--until", "soon"], "is not a time"),
    ],
)  # fmt: skip
def test_alerts_silence_mistakes_are_user_errors(
    run: Run, args: list[str], message: str
) -> None:
    done = run(*args)

    assert done.returncode == 1
    assert done.stderr.startswith("Error: ")
    assert message in done.stderr


def test_alerts_every_command_and_option_has_help() -> None:
    group = typer.main.get_group(alerts_app)
    assert sorted(group.commands) == ["ack", "history", "list", "silence"]

    undocumented = [
        f"{name} {param.name}"
        for name, command in group.commands.items()
        for param in [*command.params]
        if not getattr(param, "help", None)
    ]

    assert undocumented == []
    assert all(command.help for command in group.commands.values())
