"""A clock tests move by hand, and tickets written through the real store."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from supportpulse.model import Batch, Message, Ticket
from supportpulse.store import Store

#: The start of every test's timeline.
T0 = datetime(2024, 3, 1, 12, 0)

_numbers = itertools.count(1000)


class Clock:
    """A naive-UTC clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> datetime:
        self.now += timedelta(**span)
        return self.now


def ticket(number: int, created_at: datetime, **fields: Any) -> Ticket:
    """A ticket of source "test" with external id "t<number>"."""
    return Ticket(
        source="test",
        external_id=f"t{number}",
        created_at=created_at,
        updated_at=created_at,
        **fields,
    )


def customer_message(number: int, of: Ticket, sentiment: float) -> Message:
    """A scored customer message in a ticket, created with it."""
    return Message(
        source="test",
        external_id=f"m{number}",
        ticket_external_id=of.external_id,
        created_at=of.created_at,
        updated_at=of.created_at,
        author_role="customer",
        sentiment=sentiment,
    )


def write_tickets(store: Store, count: int, start: datetime, **fields: Any) -> None:
    """`count` new tickets one minute apart from `start`."""
    tickets = [
        ticket(next(_numbers), start + timedelta(minutes=i), **fields)
        for i in range(count)
    ]
    store.write(Batch(tickets=tickets))
