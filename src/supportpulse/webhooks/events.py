"""Event ids already handled, kept in the store so redeliveries are ignored
across restarts; a vendor retries a webhook it thinks failed."""

from __future__ import annotations

from datetime import datetime

from supportpulse.store import Store


def remember(
    store: Store, source: str, event_id: str, now: datetime, keep_since: datetime
) -> bool:
    """Record an event; False when it was seen before. Forgets events
    received before `keep_since`. `now` is naive UTC, the store's convention."""
    with store.transaction():
        store.execute(
            "DELETE FROM webhook_events WHERE received_at < :since",
            {"since": keep_since},
        )
        _, rows = store.fetch(
            "SELECT 1 FROM webhook_events WHERE source = :source AND event_id = :id",
            {"source": source, "id": event_id},
        )
        if rows:
            return False
        store.execute(
            "INSERT INTO webhook_events (source, event_id, received_at)"
            " VALUES (:source, :id, :now)",
            {"source": source, "id": event_id, "now": now},
        )
    return True
