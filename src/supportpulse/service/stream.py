"""Server-sent events: KPIs after writes, source state changes, alert transitions.

    event: kpis    the /kpis document of the default window, at most once a
                   second however often the engine writes
    event: source  a source's status dict when its state changes
    event: alert   an alert transition, as in /alerts/history

Each subscriber has a bounded queue; a client too slow to keep up loses its
oldest events rather than holding memory. Comments keep idle connections
open through proxies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from supportpulse.alerts.transition import Transition
from supportpulse.alerts.views import transition_view
from supportpulse.engine.runner import Engine
from supportpulse.service.auth import Viewer
from supportpulse.service.errors import responses
from supportpulse.service.figures import LiveFigures

log = structlog.get_logger("supportpulse.service.stream")

#: Events held per subscriber before the oldest is dropped.
QUEUE_EVENTS = 256
#: KPI events are coalesced to at most one per this many seconds.
KPI_EVERY_S = 1.0
#: How often source states are compared for changes.
SOURCE_EVERY_S = 0.25


class EventHub:
    """Fans live events out to every open stream."""

    def __init__(
        self, engine: Engine, figures: LiveFigures, ping_s: float = 15.0
    ) -> None:
        self.engine = engine
        self.figures = figures
        self.ping_s = ping_s
        self._subscribers: set[asyncio.Queue[ServerSentEvent]] = set()
        self._written = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._states: dict[str, str] = {}
        self.closed = False

    def start(self) -> None:
        """Watch for writes and source changes."""
        self._tasks = [
            asyncio.create_task(self._send_kpis(), name="stream-kpis"),
            asyncio.create_task(self._watch_sources(), name="stream-sources"),
        ]

    async def stop(self) -> None:
        """Stop watching and end every open stream, so a server shutting down
        does not wait for clients that never hang up."""
        self.closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def data_written(self) -> None:
        """Engine write hook: KPIs have changed."""
        self._written.set()

    def alert(self, transition: Transition) -> None:
        """Alert hook: tell subscribers of a transition."""
        self.publish("alert", transition_view(transition))

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Queue an event for every subscriber."""
        message = ServerSentEvent(json.dumps(data), event=event)
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[ServerSentEvent]]:
        """A queue receiving every event until the block ends."""
        queue: asyncio.Queue[ServerSentEvent] = asyncio.Queue(QUEUE_EVENTS)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def _send_kpis(self) -> None:
        while True:
            await self._written.wait()
            self._written.clear()
            if self._subscribers:
                try:
                    figures = await self.figures.get(fresh=True)
                    self.publish("kpis", figures.kpis)
                except Exception as exc:
                    log.warning("stream_kpis_failed", error=type(exc).__name__)
            await asyncio.sleep(KPI_EVERY_S)

    async def _watch_sources(self) -> None:
        while True:
            for status in self.engine.status():
                name, state = status["name"], status["state"]
                if self._states.get(name) != state:
                    self._states[name] = state
                    self.publish("source", status)
            await asyncio.sleep(SOURCE_EVERY_S)


router = APIRouter(tags=["stream"])


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "event stream"},
        **responses("unauthorized", "forbidden"),
    },
)
async def stream(request: Request, _: Viewer) -> EventSourceResponse:
    """Live events: `kpis`, `source` and `alert`, with heartbeat comments."""
    hub: EventHub = request.app.state.runtime.hub
    return EventSourceResponse(_events(hub, request), ping=hub.ping_s)


async def _events(hub: EventHub, request: Request) -> AsyncIterator[ServerSentEvent]:
    with hub.subscribe() as queue:
        # A new subscriber starts from the current figures and states.
        latest = hub.figures.latest or await hub.figures.get()
        yield ServerSentEvent(json.dumps(latest.kpis), event="kpis")
        for status in hub.engine.status():
            yield ServerSentEvent(json.dumps(status), event="source")
        while not hub.closed and not await request.is_disconnected():
            try:
                yield await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                continue
