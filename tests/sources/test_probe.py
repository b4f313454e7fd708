"""Plain-words notes on values a source hands over that nothing knows."""

from __future__ import annotations

from datetime import datetime

from supportpulse.config import Settings
from supportpulse.model import Batch, Ticket
from supportpulse.sources.probe import unmapped_values

T0 = datetime(2024, 5, 1, 9)


def _batch(*statuses: str) -> Batch:
    return Batch(tickets=[
        Ticket("desk", str(n), T0, T0, status=status, priority="high")
        for n, status in enumerate(statuses)
    ])  # fmt: skip


def test_unmapped_values_knows_the_help_desks_own_statuses() -> None:
    assert (
        unmapped_values(_batch("snoozed", "deleted", "open", "solved"), Settings())
        == []
    )


def test_unmapped_values_names_a_status_no_kpi_knows() -> None:
    notes = unmapped_values(_batch("done", "open"), Settings())

    assert notes == [
        "status values done are not known; map them under values.status "
        "(e.g. done: solved)"
    ]
