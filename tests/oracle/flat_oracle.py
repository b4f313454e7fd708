"""Expected KPIs for a flat ticket export such as tickets_min.csv.

Follows docs/metrics.md, "Flat ticket exports": one row is one ticket, its
`responded_at` is the stated first response and its customer text is one
customer message created with the ticket.
"""

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .kpis import GroupBy, Message, Ticket, expected_kpis


def flat_kpis(
    path: Path, by: GroupBy = None, until: datetime | None = None
) -> dict[str, Any]:
    """The `kpis --json` document for `path` evaluated at `until` (default now)."""
    tickets = load_tickets(path)
    return expected_kpis(tickets, until or datetime.now(UTC), by)


def load_tickets(path: Path) -> list[Ticket]:
    """One ticket per row, with its single customer message."""
    analyzer = SentimentIntensityAnalyzer()
    with path.open(newline="", encoding="utf-8") as handle:
        return [_ticket(row, analyzer) for row in csv.DictReader(handle)]


def _ticket(row: dict[str, str], analyzer: SentimentIntensityAnalyzer) -> Ticket:
    created_at = _utc(row["created_at"])
    # The export holds no agent message, so no run of customer messages is
    # ever answered and the message carries no reply-time sample.
    message = Message(
        created_at=created_at,
        role="customer",
        sentiment=analyzer.polarity_scores(row["customer_message"])["compound"],
    )
    return Ticket(
        created_at=created_at,
        team=row["team"] or None,
        first_response_at=_utc(row["responded_at"]) if row["responded_at"] else None,
        priority=row["priority"].lower() or None,
        messages=[message],
    )


def _utc(text: str) -> datetime:
    # Naive timestamps are read in the configured zone, UTC by default.
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
