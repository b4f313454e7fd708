"""Several `supportpulse ingest` processes writing one PostgreSQL store at once.

A race shows only when the writers reach the contested statement together, so
each test holds a lock the writers need until all of them wait on a lock, then
releases them at once: the interleaving is forced, not left to chance.
"""

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from supportpulse.store import open_store, parse_store_url

pytestmark = pytest.mark.postgres

TICKETS = 50_000
WRITERS = 2


def _script() -> str:
    # The console script sits beside the interpreter running pytest.
    bin_dir = Path(sys.executable).parent
    found = shutil.which("supportpulse", path=str(bin_dir))
    if found is None:
        pytest.fail(f"no supportpulse script in {bin_dir}; pip install -e .")
    return found


def flat_file(path: Path, tickets: int) -> Path:
    """A flat export of `tickets` distinct tickets, each with a message."""
    with path.open("w", encoding="utf-8") as out:
        out.write("ticket_id,created_at,team,customer_message\n")
        for number in range(tickets):
            out.write(f"T{number},2024-01-01 09:{number % 60:02d}:00,A,help {number}\n")
    return path


@contextmanager
def held(url: str, table: str) -> Iterator[None]:
    """Hold `table` against every writer in the database until the block ends."""
    with psycopg.connect(url) as gate:
        gate.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
    # Leaving the connection's block commits, which releases the lock.


def wait_until_blocked(url: str, processes: list[subprocess.Popen[str]]) -> None:
    """Return once every process waits on a lock, or one of them has exited."""

    def waiting(watch: psycopg.Connection) -> int:
        row = watch.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        return int(row[0]) if row else 0

    with psycopg.connect(url, autocommit=True) as watch:
        while all(p.poll() is None for p in processes):
            if waiting(watch) >= len(processes):
                return
            time.sleep(0.05)


def ingest_together(
    url: str, path: Path, contested: str
) -> list[subprocess.CompletedProcess[str]]:
    """Run WRITERS ingests of `path` into `url`, released together at `contested`."""
    command = [_script(), "ingest", str(path), "--store", url]
    with held(url, contested):
        processes = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(WRITERS)
        ]
        wait_until_blocked(url, processes)

    finished = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        finished.append(
            subprocess.CompletedProcess(command, process.returncode, out, err)
        )
    return finished


def test_ingest_one_file_twice_at_once_stores_each_ticket_once(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    # Migrated beforehand, so the writers contend for the tickets alone.
    open_store(parse_store_url(url)).close()
    path = flat_file(tmp_path / "export.csv", TICKETS)

    done = ingest_together(url, path, contested="tickets")

    assert [run.returncode for run in done] == [0] * WRITERS, [r.stderr for r in done]
    with open_store(parse_store_url(url)) as store:
        assert store.count("tickets") == TICKETS


def test_ingest_twice_at_once_into_a_fresh_database_both_succeed(
    pg_database: Callable[[], str], tmp_path: Path
) -> None:
    url = pg_database()
    # Migrating starts by creating a table, which needs pg_type.
    path = flat_file(tmp_path / "export.csv", 100)

    done = ingest_together(url, path, contested="pg_catalog.pg_type")

    assert [run.returncode for run in done] == [0] * WRITERS, [r.stderr for r in done]
    with open_store(parse_store_url(url)) as store:
        assert store.count("tickets") == 100
