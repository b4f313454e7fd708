"""KPIs of the simulated help desk, streamed through the engine, agree with
an independent computation over the records it generated."""

import asyncio
from datetime import datetime

import pytest

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.simulation import HelpdeskModel, timeline
from supportpulse.store import Store

from .compare import kpi_differences
from .kpis import GroupBy
from .simulated_oracle import simulated_kpis

pytestmark = pytest.mark.timeout(300)

START = datetime(2024, 3, 4, 6)
UNTIL = datetime(2024, 3, 7, 6)


async def _stream_into(store: Store) -> None:
    source = SourceSettings(
        name="helpdesk",
        type="simulated",
        options={"seed": 7, "speed": 0, "start": START.isoformat(), "until": UNTIL},
    )
    engine = Engine(store, Settings(sources=[source]))
    await engine.start()
    await engine.idle()
    await engine.stop()


@pytest.mark.parametrize("by", [None, "team"])
def test_simulated_source_kpis_match_the_oracle(store: Store, by: GroupBy) -> None:
    asyncio.run(_stream_into(store))
    records = [event.record for event in timeline(HelpdeskModel(seed=7), START, UNTIL)]

    query = KPIQuery(until=UNTIL, by=(by,) if by else ())
    actual = compute_kpis(store, query, Settings().sla)
    expected = simulated_kpis(records, UNTIL, by)

    assert kpi_differences(actual, expected) == []
    assert expected["groups"][0]["tickets"] > 300
