"""Alerts run inside the engine: after batches, and on a timer."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from supportpulse.alerts.repository import AlertRepository
from supportpulse.alerts.rules import AlertRule, AlertSettings
from supportpulse.config import Settings
from supportpulse.engine.alerting import EngineAlerts
from supportpulse.engine.runner import Engine
from supportpulse.notify.notifier import Notifier
from supportpulse.store import open_store, parse_store_url

from .test_runner import FAST, Stream, _config

pytestmark = pytest.mark.timeout(120)

NOW = datetime(2024, 1, 2)


def test_engine_fires_an_alert_after_the_batch_that_crosses_the_threshold(
    tmp_path: Path,
) -> None:
    rule = AlertRule.model_validate({
        "name": "busy", "kpi": "tickets", "window": "30d", "op": ">", "threshold": 3,
    })  # fmt: skip
    settings = Settings(engine=FAST, alerts=AlertSettings(rules=[rule]))
    store = open_store(parse_store_url(str(tmp_path / "alerts.duckdb")))

    async def scenario() -> list[str]:
        engine = Engine(store, settings, clock=lambda: NOW)
        notifier = Notifier.from_settings(settings.alerts)
        await notifier.start()
        alerts = EngineAlerts(engine, notifier, every_s=3600, min_gap_s=0)
        await engine.start()
        alerts.attach()
        await engine.add(_config("push"), Stream("push", total=5))
        await engine.idle()
        await alerts.detach()
        await engine.stop()
        await notifier.aclose()
        history = await asyncio.to_thread(AlertRepository(store).history)
        return [entry.state for entry in history]

    states = asyncio.run(scenario())
    assert "firing" in states


def test_engine_alert_timer_evaluates_without_new_batches(tmp_path: Path) -> None:
    settings = Settings(engine=FAST)
    store = open_store(parse_store_url(str(tmp_path / "alerts.duckdb")))

    async def scenario() -> int:
        engine = Engine(store, settings, clock=lambda: NOW + timedelta(days=1))
        notifier = Notifier.from_settings(settings.alerts)
        await notifier.start()
        alerts = EngineAlerts(engine, notifier, every_s=0.01, min_gap_s=3600)
        await engine.start()
        alerts.attach()
        await asyncio.sleep(0.2)
        await alerts.detach()
        await engine.stop()
        await notifier.aclose()
        return len(await asyncio.to_thread(AlertRepository(store).states))

    # The three default rules were evaluated although no source ever wrote.
    assert asyncio.run(scenario()) == 3
