"""Trying a source out: connect, take its first page, map it, say what looks wrong.

`supportpulse sources test` prints this; the API returns it as JSON. Nothing
is written to the store and no cursor moves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from supportpulse.config import Settings
from supportpulse.model import Batch
from supportpulse.sources.base import PullSource, PushSource, Source

#: How long a probe waits for a push source's first page.
FIRST_PAGE_S = 10.0

#: Statuses the KPIs understand; others are kept but count as open.
#: Statuses the KPIs understand, the help desks' own included: Intercom snoozes
#: conversations, and help desks report deleted tickets, which KPIs leave out.
KNOWN_STATUSES = frozenset({
    "new", "open", "pending", "hold", "on-hold", "snoozed", "solved", "resolved",
    "closed", "deleted",
})  # fmt: skip


@dataclass(frozen=True)
class Probe:
    """What one source's first page gave: its mapping, records and problems."""

    batch: Batch
    mapping: dict[str, Any]
    problems: list[str]


async def probe_source(source: Source, settings: Settings) -> Probe:
    """Take `source`'s first page and close it; SourceError when it fails."""
    batch, mapping = await first_batch(source)
    return Probe(batch, mapping, unmapped_values(batch, settings))


async def first_batch(source: Source) -> tuple[Batch, dict[str, Any]]:
    """The source's first page normalized, and its field mapping if it has one."""
    try:
        if isinstance(source, PullSource):
            page = await source.pull(None)
        else:
            assert isinstance(source, PushSource)
            stream = source.stream(None)
            page = await asyncio.wait_for(anext(stream), FIRST_PAGE_S)
        batch = source.normalize(page)
        describe = getattr(source, "describe", None)
        return batch, describe() if callable(describe) else {}
    finally:
        await source.close()


def unmapped_values(batch: Batch, settings: Settings) -> list[str]:
    """Plain-words notes on priorities and statuses no SLA target or KPI knows."""
    targets = settings.sla.first_response
    notes = []
    priorities = sorted(
        {t.priority for t in batch.tickets if t.priority} - set(targets)
    )
    if priorities:
        notes.append(
            f"priority values {', '.join(priorities)} have no SLA target and count as "
            "normal; map them under values.priority (e.g. P1: urgent)"
        )
    statuses = sorted({t.status for t in batch.tickets if t.status} - KNOWN_STATUSES)
    if statuses:
        notes.append(
            f"status values {', '.join(statuses)} are not known; map them under "
            "values.status (e.g. done: solved)"
        )
    return notes
