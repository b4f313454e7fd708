"""`supportpulse dashboard` refuses to serve beyond loopback unless asked."""

from __future__ import annotations

from .conftest import Run


def test_dashboard_refuses_a_non_loopback_host_without_public(run: Run) -> None:
    done = run("dashboard", "--host", "0.0.0.0", "--port", "8599")

    assert done.returncode == 1
    assert done.stderr.startswith("Error: --host '0.0.0.0' is not a loopback address")
    assert "--public" in done.stderr


def test_demo_rejects_a_duration_it_cannot_read(run: Run) -> None:
    done = run("demo", "--duration", "soon")

    assert done.returncode == 2
    assert "'soon' is not a duration" in done.stderr


def test_demo_names_a_replay_file_that_does_not_exist(run: Run) -> None:
    done = run("demo", "--replay", "missing.csv")

    assert done.returncode == 1
    assert done.stderr.strip() == "Error: --replay missing.csv: no such file"
