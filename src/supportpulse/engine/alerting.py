"""Alert evaluation inside the engine: after each batch and on a timer.

The timer matters as much as the batches: a source that falls silent stops
producing batches, yet its open tickets keep passing their SLA due times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from supportpulse.alerts.evaluator import AlertEvaluator
from supportpulse.alerts.transition import Transition
from supportpulse.engine.runner import Engine
from supportpulse.notify.notifier import Notifier

log = structlog.get_logger("supportpulse.engine.alerting")


class EngineAlerts:
    """Evaluates rules between writes and hands transitions to the notifier."""

    def __init__(
        self, engine: Engine, notifier: Notifier, *, every_s: float, min_gap_s: float
    ) -> None:
        self.engine = engine
        self.notifier = notifier
        self.every_s = every_s
        # Batches can land many times a second; rules need not run that often.
        self.min_gap_s = min_gap_s
        self._evaluator = AlertEvaluator(engine.store, engine.settings, engine.clock)
        self._last = 0.0
        self._timer: asyncio.Task[None] | None = None
        self._watchers: list[Callable[[Transition], None]] = []

    def on_transition(self, watcher: Callable[[Transition], None]) -> None:
        """Also hand every transition to `watcher` (the live event stream)."""
        self._watchers.append(watcher)

    def attach(self) -> None:
        """Evaluate after batches and every `every_s` seconds."""
        self.engine.on_write(self._after_batch)
        self._timer = asyncio.create_task(self._tick(), name="alert-timer")

    async def detach(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)

    async def evaluate(self) -> int:
        """Run every rule once now; return how many transitions it made."""
        self._last = time.monotonic()
        transitions = await self.engine.query(self._evaluator.evaluate)
        for transition in transitions:
            self.notifier.notify(transition)
            for watcher in self._watchers:
                watcher(transition)
        return len(transitions)

    async def _after_batch(self) -> None:
        if time.monotonic() - self._last >= self.min_gap_s:
            await self.evaluate()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.evaluate()
            except Exception:
                log.exception("alert_evaluation_failed")
