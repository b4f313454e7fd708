"""Fixtures for the oracle tests: the shared data and throwaway PostgreSQL databases.

A missing prerequisite skips the tests on a developer machine and fails them
when CI is "true", so CI never passes by running nothing.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

from .datasets import SHARED_DATA

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test, or fail it when CI is "true"."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data directory beside the project."""
    if not SHARED_DATA.is_dir():
        skip_or_fail(
            f"no shared data at {SHARED_DATA}; put ../shared beside the project"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the local server, all dropped afterwards."""
    try:
        admin = psycopg.connect(
            f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL at {PG_SERVER} is unreachable: {error}")

    created: list[str] = []

    def create() -> str:
        name = f"sp_oracle_{uuid.uuid4().hex[:12]}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return f"{PG_SERVER}/{name}"

    with admin:
        yield create
        for name in created:
            # FORCE ends sessions a crashed CLI run may have left open.
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))
