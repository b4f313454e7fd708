"""A ticket its help desk deleted (status `deleted`) counts in no KPI."""

from __future__ import annotations

from datetime import datetime, timedelta

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import SLASettings
from supportpulse.model import Batch, Message, Ticket
from supportpulse.store import Store

START = datetime(2024, 5, 1, 9)


def _ticket(number: int, status: str) -> tuple[Ticket, list[Message]]:
    created = START + timedelta(hours=number)
    ticket = Ticket("desk", str(number), created, created, status=status, csat=5.0)
    messages = [
        Message("desk", f"{number}-c", str(number), created, created, "customer"),
        Message("desk", f"{number}-a", str(number), created + timedelta(minutes=10),
                created + timedelta(minutes=10), "agent"),
    ]  # fmt: skip
    return ticket, messages


def test_kpis_leave_out_deleted_tickets_and_their_messages(store: Store) -> None:
    live, live_messages = _ticket(1, "open")
    gone, gone_messages = _ticket(2, "deleted")
    store.write(Batch([live, gone], [*live_messages, *gone_messages]))

    result = compute_kpis(
        store, KPIQuery(until=START + timedelta(days=1)), SLASettings()
    )

    (group,) = result["groups"]
    assert group["tickets"] == 1
    assert group["messages"] == 2
    assert group["backlog"] == 1
    assert group["csat"]["count"] == 1
    assert group["first_response"]["count"] == 1
