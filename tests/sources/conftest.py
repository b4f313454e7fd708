"""Fixtures of the source tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.sources.helpdesk_db import TICKETS


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        "mariadb"])  # fmt: skip
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database holding the ticket table, on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'helpdesk.sqlite'}"
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_database")().replace(
            "postgresql://", "postgresql+psycopg://"
        )
    else:
        url = request.getfixturevalue("mariadb_database")()
    engine = sa.create_engine(url)
    TICKETS.metadata.create_all(engine)
    engine.dispose()
    return url
