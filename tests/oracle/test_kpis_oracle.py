"""`supportpulse kpis --json` agrees with the oracle on DuckDB and PostgreSQL.

Each shared data file is ingested once per store through the installed CLI, as
a user would, and both the ungrouped and the `--by team` documents are checked
figure by figure. No --until is given, so the window ends now; the data is
years old, so every SLA target has fallen due.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .compare import kpi_differences
from .datasets import DATASETS
from .kpis import GroupBy

pytestmark = pytest.mark.shared_data

CLI_TIMEOUT_S = 300


def _cli() -> str:
    # The script sits beside the interpreter running pytest, venv or not.
    bin_dir = Path(sys.executable).parent
    found = shutil.which("supportpulse", path=str(bin_dir)) or shutil.which(
        "supportpulse"
    )
    if found is None:
        pytest.fail(f"no supportpulse script in {bin_dir} or on PATH; pip install -e .")
    return found


def _run(*args: str) -> str:
    done = subprocess.run(
        [_cli(), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"supportpulse {' '.join(args)} exited {done.returncode}\n"
            f"stderr:\n{done.stderr}\nstdout:\n{done.stdout}"
        )
    return done.stdout


@pytest.fixture(scope="module", params=sorted(DATASETS))
def dataset(request: pytest.FixtureRequest, shared_data: Path) -> str:
    """The name of a shared data file (see datasets.DATASETS)."""
    name: str = request.param
    path = shared_data / DATASETS[name][0]
    assert path.is_file(), f"{path} is missing from the shared data"
    return name


@pytest.fixture(
    scope="module",
    params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store(
    request: pytest.FixtureRequest,
    dataset: str,
    shared_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The URL of a fresh store holding the ingested dataset."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")()
    else:
        url = f"duckdb:///{tmp_path_factory.mktemp('store')}/s.duckdb"

    _run("ingest", str(shared_data / DATASETS[dataset][0]), "--store", url)
    return url


@pytest.mark.parametrize("by", [None, "team"], ids=["ungrouped", "by_team"])
def test_kpis_json_matches_oracle(
    store: str, dataset: str, shared_data: Path, by: GroupBy
) -> None:
    grouping = ["--by", by] if by else []
    stdout = _run("kpis", *grouping, "--json", "--store", store)
    try:
        actual = json.loads(stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"kpis --json printed invalid JSON ({error}):\n{stdout[:2000]}")

    relative, oracle = DATASETS[dataset]
    expected = oracle(shared_data / relative, by, None)

    differences = kpi_differences(actual, expected)
    assert not differences, "\n".join(differences)
