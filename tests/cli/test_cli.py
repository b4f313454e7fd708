"""The installed `supportpulse` command, run in a subprocess as a user runs it."""

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from supportpulse.cli.main import app
from supportpulse.store import open_store, parse_store_url

from .conftest import Run

CANARY = "CANARY-s3cret"
SECRET_ENV = {"SP_TEST_PG_PASSWORD": CANARY}
DEBUG = ("--log-level", "debug")
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"
TICKETS = "ticket_id,team,created_at,customer_message\nT1,A,2024-01-01 09:00:00,hi\n"


@pytest.fixture(autouse=True)
def _inputs(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "no_created_at.csv").write_text("ticket_id,team\nT1,A\n")


def _name(command: typer.models.CommandInfo) -> str:
    assert command.callback is not None
    return command.name or command.callback.__name__.replace("_", "-")


def _text(value: object) -> str:
    # Typer marks unset settings with placeholder objects, not None.
    return value.strip() if isinstance(value, str) else ""


def _documented(
    app: typer.Typer, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every command and command group registered under `app`, with its doc."""
    for command in app.registered_commands:
        yield (*path, _name(command)), _text(getattr(command.callback, "__doc__", ""))
    for group in app.registered_groups:
        sub = group.typer_instance
        name = _text(group.name) or _text(sub.info.name)
        callback = sub.registered_callback.callback if sub.registered_callback else None
        doc = _text(group.help) or _text(sub.info.help) or _text(callback.__doc__)
        yield (*path, name), doc
        yield from _documented(sub, (*path, name))


COMMANDS = [
    pytest.param(path, doc, id=" ".join(path)) for path, doc in _documented(app)
]


@pytest.mark.parametrize(("path", "doc"), COMMANDS)
def test_cli_every_command_has_a_docstring_and_help(
    run: Run, path: tuple[str, ...], doc: str
) -> None:
    assert doc, f"'supportpulse {' '.join(path)}' has no docstring or help"

    done = run(*path, "--help")

    assert done.returncode == 0, done.stderr
    assert _words(doc.splitlines()[0]) in _words(done.stdout)


def test_cli_help_lists_every_command(run: Run) -> None:
    done = run("--help")

    assert done.returncode == 0
    for path, _ in _documented(app):
        if len(path) == 1:
            assert path[0] in done.stdout


def test_cli_every_option_and_argument_has_help() -> None:
    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    params = [
        (f"{path} {param.name}", param)
        for path, command in walk(typer.main.get_command(app), "supportpulse")
        for param in command.params
    ]

    assert params
    assert [name for name, param in params if not getattr(param, "help", None)] == []


def _words(text: str) -> str:
    # Help is wrapped and boxed by Rich; compare the words alone.
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["ingest", "absent.csv"], 1, id="missing_file"),
        pytest.param(["ingest", "no_created_at.csv"], 1, id="missing_column"),
        pytest.param(["kpis", "--since", "last tuesday"], 2, id="bad_since"),
        pytest.param(["kpis", "--store", "mysql://db/support"], 1, id="bad_scheme"),
        pytest.param(["kpis", "--store", UNREACHABLE], 3, id="unreachable_pg"),
    ],
)
def test_cli_user_error_prints_one_error_line_and_its_exit_code(
    run: Run, args: list[str], code: int
) -> None:
    done = run(*args)

    assert done.returncode == code
    assert done.stderr.startswith("Error: ")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["kpis", "--by", "weather"], id="bad_by"),
        pytest.param(["kpis", "--bucket", "week"], id="bad_bucket"),
        pytest.param(["kpis", "--bogus"], id="unknown_option"),
        pytest.param(["ingest"], id="missing_argument"),
    ],
)
def test_cli_usage_error_exits_2_without_a_traceback(run: Run, args: list[str]) -> None:
    done = run(*args)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_cli_usage_error_says_error_on_one_line(run: Run) -> None:
    done = run("kpis", "--by", "weather")

    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "--by" in errors[0]


def test_cli_kpis_on_a_missing_store_file_says_so_and_creates_nothing(
    run: Run, tmp_path: Path
) -> None:
    done = run("kpis", "--store", "typo/sub/x.duckdb")

    assert done.returncode == 3
    assert done.stderr.startswith("Error: no store at typo/sub/x.duckdb")
    assert not (tmp_path / "typo").exists()


def test_cli_kpis_json_on_an_empty_store_lists_no_groups(
    run: Run, tmp_path: Path
) -> None:
    open_store(parse_store_url(str(tmp_path / "empty.duckdb"))).close()

    done = run("kpis", "--json", "--store", "empty.duckdb")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["groups"] == []
    assert document["window"]["since"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["window"]["until"])


@pytest.mark.parametrize(
    "store_url",
    [
        "duckdb",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ],
    indirect=True,
)
def test_cli_kpis_bucket_hour_json_keys_groups_by_iso_hour(
    run: Run, store_url: str, shared_data: Path
) -> None:
    source = shared_data / "tickets_min.csv"
    assert run("ingest", str(source), "--store", store_url).returncode == 0

    done = run("kpis", "--bucket", "hour", "--json", "--store", store_url)

    assert done.returncode == 0, done.stderr
    groups = json.loads(done.stdout)["groups"]
    buckets = [group["key"]["bucket"] for group in groups]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", b) for b in buckets)
    assert buckets == sorted(set(buckets))
    with source.open(encoding="utf-8") as rows:
        expected = Counter(
            f"{row['created_at'][:13].replace(' ', 'T')}:00:00Z"
            for row in csv.DictReader(rows)
        )
    tickets = {g["key"]["bucket"]: g["tickets"] for g in groups if g["tickets"]}
    assert tickets == expected


@pytest.mark.parametrize(
    "args",
    [["kpis"], ["quarantine"], ["ingest", "tickets.csv"]],
    ids=["kpis", "quarantine", "ingest"],
)
def test_cli_never_prints_a_store_password_even_at_debug(
    run: Run, args: list[str]
) -> None:
    url = UNREACHABLE.replace("postgres@", f"postgres:{CANARY}@")

    done = run(*DEBUG, *args, "--store", url)

    assert done.returncode == 3
    assert CANARY not in done.stdout + done.stderr


def test_cli_never_prints_a_password_from_a_config_variable(
    run: Run, tmp_path: Path
) -> None:
    url = UNREACHABLE.replace("postgres@", "postgres:${SP_TEST_PG_PASSWORD}@")
    (tmp_path / "settings.yaml").write_text(f"store: {url}\n", encoding="utf-8")

    done = run(*DEBUG, "kpis", "--config", "settings.yaml", env=SECRET_ENV)

    assert done.returncode == 3
    assert CANARY not in done.stdout + done.stderr


@pytest.mark.postgres
@pytest.mark.parametrize("log_format", ["console", "json"])
def test_cli_never_prints_a_password_while_working_at_debug(
    run: Run, tmp_path: Path, pg_database: Callable[[], str], log_format: str
) -> None:
    # Trust authentication ignores the password, so every command succeeds.
    url = pg_database().replace("postgres@", "postgres:${SP_TEST_PG_PASSWORD}@")
    (tmp_path / "settings.yaml").write_text(f"store: {url}\n", encoding="utf-8")
    debug = [*DEBUG, "--log-format", log_format]

    outputs = []
    for args in (["ingest", "tickets.csv"], ["kpis"], ["quarantine"]):
        config = ["--config", "settings.yaml"]
        done = run(*debug, *args, *config, env=SECRET_ENV)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)

    assert "store_migrated" in outputs[0]
    assert not [output for output in outputs if CANARY in output]


def test_cli_never_prints_a_raw_password_with_reserved_characters(run: Run) -> None:
    done = run("kpis", "--store", "postgresql://postgres:CANARY/s3cret@127.0.0.1:1/x")

    assert "s3cret" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.returncode in (1, 3)
