"""Mistakes and hostile values on the command line, run as a user runs them.

Whatever goes wrong, stderr holds one line starting "Error:", never a
traceback, and the exit code says who can fix it: 1 the user, 2 a usage
mistake, 3 the store, 70 a bug in supportpulse.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from supportpulse.store import open_store, parse_store_url

from .conftest import Run

TWCS_SAMPLE = "twcs/twcs_head_1000.csv"
TICKETS = "ticket_id,created_at\n1,2024-01-01\n"
DEBUG = ("--log-level", "debug")


# A bug forced inside `kpis`, its message holding a credential, as an
# unexpected exception from a library would.
FORCED_BUG = """
import sys
import supportpulse.cli.main as cli

def boom(*args, **kwargs):
    raise RuntimeError("boom postgresql://u:CANARY@h/db")

cli.compute_kpis = boom
sys.argv = ["supportpulse", *sys.argv[1:]]
cli.main()
"""


@pytest.fixture(autouse=True)
def _inputs(tmp_path: Path) -> None:
    (tmp_path / "tickets.csv").write_text(TICKETS, encoding="utf-8")


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a failed command; fails unless there is exactly one."""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error:"), done.stderr
    return lines[0]


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def test_cli_ingest_encoding_that_is_no_text_encoding_is_a_user_error(
    run: Run,
) -> None:
    done = run("ingest", "--encoding", "rot13", "tickets.csv", "--store", "s.duckdb")

    assert done.returncode == 1
    assert "not a text encoding" in error_line(done)


def test_cli_ingest_json_file_suggests_json_lines(run: Run, tmp_path: Path) -> None:
    (tmp_path / "export.json").write_text(
        '[{"ticket_id": "1", "created_at": "2024-01-01"}]\n', encoding="utf-8"
    )

    done = run("ingest", "export.json", "--store", "s.duckdb")

    assert done.returncode == 1
    assert "JSON Lines" in error_line(done)


def test_cli_kpis_json_stays_strict_json_after_non_finite_csat(
    run: Run, tmp_path: Path
) -> None:
    (tmp_path / "rated.csv").write_text(
        "ticket_id,created_at,csat\n1,2024-01-01,nan\n2,2024-01-01,inf\n"
        "3,2024-01-01,4\n",
        encoding="utf-8",
    )
    assert run("ingest", "rated.csv", "--store", "s.duckdb").returncode == 0

    done = run("kpis", "--json", "--store", "s.duckdb")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout, parse_constant=_reject_constant)
    assert [group["tickets"] for group in document["groups"]] == [1]


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        pytest.param(["kpis", "--since", "99999999d"], 2, "--since", id="huge_since"),
        pytest.param(
            ["kpis", "--store", "plain_file/x.duckdb"],
            3,
            "plain_file/x.duckdb",
            id="kpis_store_under_a_file",
        ),
        pytest.param(
            ["ingest", "tickets.csv", "--store", "plain_file/x.duckdb"],
            3,
            "plain_file/x.duckdb",
            id="ingest_store_under_a_file",
        ),
        pytest.param(["kpis", "--store", ""], 1, "--store", id="empty_store"),
        pytest.param(
            ["kpis", "--config", "long_sla.yaml"],
            1,
            "sla.first_response.high",
            id="huge_duration",
        ),
        pytest.param(
            ["kpis", "--config", "alias.yaml"], 1, "alias.yaml", id="recursive_alias"
        ),
    ],
)
def test_cli_hostile_value_prints_one_error_line_and_its_exit_code(
    run: Run, tmp_path: Path, args: list[str], code: int, phrase: str
) -> None:
    (tmp_path / "plain_file").write_text("not a folder\n", encoding="utf-8")
    (tmp_path / "long_sla.yaml").write_text(
        "sla: {first_response: {high: 99999999999d}}\n", encoding="utf-8"
    )
    (tmp_path / "alias.yaml").write_text("a: &a [*a]\n", encoding="utf-8")

    done = run(*args)

    assert done.returncode == code, done.stderr
    assert phrase in error_line(done)
    assert done.stdout == ""


def test_cli_ingest_twcs_with_a_quote_in_the_temporary_folder_succeeds(
    run: Run, tmp_path: Path, shared_data: Path
) -> None:
    scratch = tmp_path / "it's temporary"
    scratch.mkdir()
    sample = str(shared_data / TWCS_SAMPLE)

    done = run("ingest", sample, "--store", "s.duckdb", env={"TMPDIR": str(scratch)})

    assert done.returncode == 0, done.stderr
    assert "twcs file" in done.stdout


def _password_url(separator: str) -> tuple[str, list[str]]:
    """A URL whose raw password holds `separator` and '@', and the password's
    pieces that must never be printed."""
    password = f"S3c{separator}ret@PW"
    url = f"postgresql://postgres:{password}@127.0.0.1:1/x"
    return url, [password, "ret@PW", "S3c", "PW"]


@pytest.mark.parametrize("level", [(), DEBUG], ids=["default", "debug"])
@pytest.mark.parametrize(
    "separator",
    ["/", "#", "?"],
    ids=["slash", "hash", "question_mark"],
)
def test_cli_never_prints_any_part_of_a_raw_password(
    run: Run, separator: str, level: tuple[str, ...]
) -> None:
    url, pieces = _password_url(separator)

    done = run(*level, "kpis", "--store", url)

    assert done.returncode == 3
    assert [piece for piece in pieces if piece in done.stdout + done.stderr] == []
    if not level:
        error_line(done)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["kpis", "--by", "foo"], id="bad_by"),
        pytest.param(["kpis", "--bucket", "week"], id="bad_bucket"),
        pytest.param(["--log-level", "nope", "kpis"], id="bad_log_level"),
        pytest.param(["quarantine", "--limit", "0"], id="zero_limit"),
        pytest.param(["ingest"], id="no_path"),
        pytest.param(["kpis", "--since", "garbage"], id="bad_since"),
        pytest.param(["kpis", "--until", "garbage"], id="bad_until"),
        pytest.param(
            ["kpis", "--since", "2h", "--until", "3h"], id="since_after_until"
        ),
    ],
)
def test_cli_usage_error_is_one_error_line_and_exit_2(
    run: Run, args: list[str]
) -> None:
    done = run(*args)

    assert done.returncode == 2
    error_line(done)


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_cli_kpis_bad_time_names_its_option_and_exits_2(run: Run, option: str) -> None:
    done = run("kpis", option, "garbage", "--store", "absent.duckdb")

    assert done.returncode == 2
    assert f"{option}: 'garbage' is not a time; use ISO 8601" in error_line(done)


def test_cli_ingest_refused_file_leaves_no_store_behind(
    run: Run, tmp_path: Path
) -> None:
    (tmp_path / "file.csv").write_text("name,opened\nx,2024-01-01\n", encoding="utf-8")

    done = run("ingest", "--store", "rp.duckdb", "file.csv")

    assert done.returncode == 1
    assert "no column for external_id" in error_line(done)
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == ["file.csv", "tickets.csv"]


def test_cli_ingest_refused_file_keeps_an_existing_store(
    run: Run, tmp_path: Path, fresh_store: str
) -> None:
    (tmp_path / "file.csv").write_text("name,opened\nx,2024-01-01\n", encoding="utf-8")

    done = run("ingest", "--store", fresh_store, "file.csv")

    assert done.returncode == 1
    assert Path(fresh_store).is_file()


@pytest.fixture
def fresh_store(tmp_path: Path) -> str:
    """The path of an empty, migrated DuckDB store in tmp_path."""
    path = tmp_path / "fresh.duckdb"
    open_store(parse_store_url(str(path))).close()
    return str(path)


def test_cli_internal_error_is_one_line_without_traceback_or_secret(
    run: Run, fresh_store: str
) -> None:
    done = run(
        "kpis", "--store", fresh_store, program=[sys.executable, "-c", FORCED_BUG]
    )

    assert done.returncode == 70
    assert error_line(done).startswith("Error: internal error")
    assert "CANARY" not in done.stdout + done.stderr


def test_cli_internal_error_at_debug_shows_a_traceback_without_secret(
    run: Run, fresh_store: str
) -> None:
    program = [sys.executable, "-c", FORCED_BUG]

    done = run(*DEBUG, "kpis", "--store", fresh_store, program=program)

    assert done.returncode == 70
    assert "Traceback" in done.stderr
    assert "Error: internal error" in done.stderr
    assert "CANARY" not in done.stdout + done.stderr
