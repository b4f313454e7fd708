"""Retries in tests: at most three attempts and no backoff sleeps."""

from collections.abc import Iterator

import pytest
import stamina


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    """stamina's test mode: attempts capped at 3, backoff waits of zero."""
    with stamina.set_testing(True, attempts=3, cap=True):
        yield
