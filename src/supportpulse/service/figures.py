"""Live figures reused for a few seconds: the default-window KPIs and alert states.

Prometheus scrapes and every open event stream want the same figures; one
computation per `service.kpi_cache` serves them all instead of one store
query per reader.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from supportpulse.alerts.repository import AlertRepository
from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.engine.runner import Engine


@dataclass(frozen=True)
class Figures:
    """One computation: the `/kpis` document for the default window and the
    number of groups per (rule, state)."""

    kpis: dict[str, Any]
    alert_states: Counter[tuple[str, str]] = field(default_factory=Counter)


class LiveFigures:
    """Computes `Figures` through the engine's store, at most once per `ttl_s`."""

    def __init__(self, engine: Engine, ttl_s: float) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._latest: Figures | None = None
        self._taken_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def latest(self) -> Figures | None:
        """The last figures computed, however old."""
        return self._latest

    async def get(self, *, fresh: bool = False) -> Figures:
        """Figures at most `ttl_s` old, or computed now when `fresh`."""
        requested = time.monotonic()
        async with self._lock:
            # Another reader may have refreshed while this one waited.
            if self._latest is not None and self._taken_at >= requested:
                return self._latest
            age = time.monotonic() - self._taken_at
            if self._latest is None or fresh or age >= self.ttl_s:
                started = time.monotonic()
                self._latest = await self.engine.query(self._compute)
                self._taken_at = started
            return self._latest

    def _compute(self) -> Figures:
        store = self.engine.store
        kpis = compute_kpis(store, KPIQuery(), self.engine.settings.sla)
        states = AlertRepository(store).states()
        counted = Counter((row.rule, row.state.state.value) for row in states)
        return Figures(kpis, counted)
