"""KPI filters (team, priority) agree with the oracle over the filtered tickets.

The store computes a filtered window with the filter values bound as
parameters; the oracle simply keeps the matching tickets before computing.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings, SLASettings
from supportpulse.ingest.pipeline import IngestOptions, ingest_file
from supportpulse.store import Store, open_store, parse_store_url

from . import flat_oracle, twcs_oracle
from .compare import kpi_differences
from .kpis import Ticket, expected_kpis

pytestmark = pytest.mark.shared_data

UNTIL = datetime(2030, 1, 1)
LOADERS: dict[str, tuple[str, Callable[[Path], list[Ticket]]]] = {
    "tickets_min": ("tickets_min.csv", flat_oracle.load_tickets),
    "twcs": ("twcs/twcs_head_1000.csv", twcs_oracle.load_tickets),
}


@pytest.fixture(
    scope="module",
    params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def engine(request: pytest.FixtureRequest) -> str:
    """Which store engine holds the data."""
    return str(request.param)


@pytest.fixture(scope="module", params=sorted(LOADERS))
def loaded(
    request: pytest.FixtureRequest,
    engine: str,
    shared_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Store, list[Ticket]]]:
    """A store holding one shared data file, and the oracle's tickets for it."""
    relative, loader = LOADERS[request.param]
    if engine == "postgresql":
        url: str = request.getfixturevalue("pg_database")()
    else:
        url = f"duckdb:///{tmp_path_factory.mktemp('filters')}/s.duckdb"
    path = shared_data / relative
    with open_store(parse_store_url(url)) as store:
        ingest_file(path, store, Settings(), IngestOptions())
        yield store, loader(path)


def _check(store: Store, tickets: list[Ticket], field: str, value: str) -> None:
    query = KPIQuery(until=UNTIL, filters=((field, value),))
    actual = compute_kpis(store, query, SLASettings())
    kept = [t for t in tickets if getattr(t, field) == value]
    expected = expected_kpis(kept, UNTIL.replace(tzinfo=UTC))

    differences = kpi_differences(actual, expected)
    assert not differences, "\n".join(differences)


def test_kpis_team_filter_matches_oracle(
    loaded: tuple[Store, list[Ticket]],
) -> None:
    store, tickets = loaded
    teams = Counter(t.team for t in tickets if t.team)
    for team, _ in teams.most_common(3):
        _check(store, tickets, "team", team)


def test_kpis_priority_filter_matches_oracle(
    loaded: tuple[Store, list[Ticket]],
) -> None:
    store, tickets = loaded
    priorities = {t.priority for t in tickets if t.priority}
    for priority in sorted(priorities) or ["high"]:
        _check(store, tickets, "priority", priority)


def test_kpis_filter_on_unknown_value_lists_no_group(
    loaded: tuple[Store, list[Ticket]],
) -> None:
    store, _ = loaded
    query = KPIQuery(until=UNTIL, filters=(("team", "x' OR '1'='1"),))
    assert compute_kpis(store, query, SLASettings())["groups"] == []
