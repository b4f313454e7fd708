"""A help desk's own database, as the database source tests build it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from supportpulse.config import EngineSettings, Settings, SourceSettings
from supportpulse.engine.runner import Engine
from supportpulse.store import Store

T0 = datetime(2024, 5, 1, 9, 0)

# The seed-era ticket table: what many teams keep in their own database.
TICKETS = sa.Table(
    "support_tickets",
    sa.MetaData(),
    sa.Column("ticket_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("responded_at", sa.DateTime),
    sa.Column("team", sa.String(40)),
    sa.Column("status", sa.String(20)),
    sa.Column("priority", sa.String(10)),
    sa.Column("category", sa.String(40)),
    sa.Column("assigned_to", sa.String(40)),
    sa.Column("resolution_minutes", sa.Integer),
    sa.Column("satisfaction_score", sa.Integer),
    sa.Column("tags", sa.String(200)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# A message table beside it, one row per message, tied to tickets by id.
MESSAGES = sa.Table(
    "support_messages",
    TICKETS.metadata,
    sa.Column("message_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ticket_id", sa.Integer, nullable=False),
    sa.Column("author_type", sa.String(20), nullable=False),
    sa.Column("author", sa.String(40)),
    sa.Column("body", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


def row(number: int, updated: datetime, team: str = "billing") -> dict[str, Any]:
    created = T0 + timedelta(minutes=number)
    return {
        "ticket_id": number, "created_at": created,
        "responded_at": created + timedelta(minutes=30), "team": team,
        "status": "open", "priority": ("P1", "P2", "P3")[number % 3],
        "category": "billing", "assigned_to": f"agent{number % 4}",
        "resolution_minutes": None, "satisfaction_score": 1 + number % 5,
        "tags": "a,b", "updated_at": updated,
    }  # fmt: skip


def source_settings(url: str, **options: Any) -> SourceSettings:
    return SourceSettings(
        name="helpdesk", type="database", interval=timedelta(milliseconds=30),
        options={
            "url": url, "table": "support_tickets", "batch_size": 25, "lookback_s": 1,
            "mappings": {"agent": "assigned_to", "csat": "satisfaction_score"},
            "values": {"priority": {"P1": "urgent", "P2": "high", "P3": "low"}},
            **options,
        },
    )  # fmt: skip


Phase = tuple[Callable[[], None] | None, Callable[[Store], bool]]


def sync(
    store: Store,
    source: SourceSettings,
    phases: list[Phase],
    limits: EngineSettings | None = None,
    wait_s: float = 30.0,
) -> list[dict[str, Any]]:
    """Run the engine through phases: make a change, wait until the store shows
    it, a failed source, or `wait_s`."""
    limits = limits or EngineSettings(batch_wait=timedelta(milliseconds=10))
    settings = Settings(engine=limits, sources=[source])

    async def scenario() -> list[dict[str, Any]]:
        engine = Engine(store, settings)
        await engine.start()
        for change, shown in phases:
            if change is not None:
                await asyncio.to_thread(change)
            for _ in range(int(wait_s / 0.05)):
                if await engine.query(shown, store) or failed(engine):
                    break
                await asyncio.sleep(0.05)
        status = engine.status()
        await engine.stop()
        return status

    return asyncio.run(scenario())


def failed(engine: Engine) -> bool:
    return any(status["state"] == "failed" for status in engine.status())


def stored_tickets(store: Store) -> dict[str, tuple[Any, ...]]:
    _, rows = store.fetch(
        "SELECT external_id, team, priority, agent, csat FROM tickets "
        "WHERE source = 'helpdesk'"
    )
    return {row[0]: row[1:] for row in rows}
