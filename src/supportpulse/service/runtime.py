"""Everything a request handler reaches: the engine, settings and live parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import structlog
from fastapi import Depends, Request

from supportpulse.config import Settings
from supportpulse.engine.alerting import EngineAlerts
from supportpulse.engine.runner import Engine
from supportpulse.service.catalog import SourceCatalog
from supportpulse.service.figures import LiveFigures
from supportpulse.service.stream import EventHub
from supportpulse.service.uploads import remove_orphaned_uploads

log = structlog.get_logger("supportpulse.service")


@dataclass
class ServiceRuntime:
    """The running engine and the service's own state around it."""

    engine: Engine
    alerts: EngineAlerts | None = None
    catalog: SourceCatalog = field(init=False)
    figures: LiveFigures = field(init=False)
    hub: EventHub = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = SourceCatalog(self.engine.settings)
        ttl = self.settings.service.kpi_cache.total_seconds()
        self.figures = LiveFigures(self.engine, ttl)
        self.hub = EventHub(self.engine, self.figures)

    @property
    def settings(self) -> Settings:
        """The settings the engine runs with."""
        return self.engine.settings

    async def start(self) -> None:
        """Start the sources kept from the API and the live event hub.

        Call after `Engine.start()`, which starts the config file's sources.
        """
        remove_orphaned_uploads()
        for source in self.catalog.load():
            if source.enabled:
                await self.engine.add(source)
        self.engine.on_write(self.hub.data_written)
        if self.alerts is not None:
            self.alerts.on_transition(self.hub.alert)
        self.hub.start()

    async def stop(self) -> None:
        """Stop the event hub; the engine is stopped by its owner."""
        await self.hub.stop()


def runtime_of(request: Request) -> ServiceRuntime:
    """The runtime the application was created with."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


#: A route parameter receiving the runtime.
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
