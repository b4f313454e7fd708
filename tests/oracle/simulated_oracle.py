"""Expected KPIs for the simulated help desk, rebuilt from its raw records.

A ticket is its last snapshot; its first response is its earliest agent
message; a customer message's reply time runs to the agent message that
replies to it (the records link every answer).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .kpis import GroupBy, Message, Ticket, expected_kpis


def simulated_kpis(
    records: Iterable[dict[str, Any]], until: datetime, by: GroupBy = None
) -> dict[str, Any]:
    """The `kpis --json` groups for simulated records evaluated at `until`."""
    return expected_kpis(load_tickets(records), until, by)


def load_tickets(records: Iterable[dict[str, Any]]) -> list[Ticket]:
    """Oracle tickets with their messages from records in delivery order."""
    snapshots: dict[str, dict[str, Any]] = {}
    messages: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["kind"] == "ticket":
            snapshots[record["id"]] = record
        else:
            messages.setdefault(record["ticket_id"], []).append(record)

    analyzer = SentimentIntensityAnalyzer()
    tickets = []
    for ticket_id, snapshot in snapshots.items():
        created = _time(snapshot["created_at"])
        own = messages.get(ticket_id, [])
        agent = [m for m in own if m["role"] == "agent"]
        answered = [_time(m["created_at"]) for m in agent]
        first = min((at for at in answered if at >= created), default=None)
        tickets.append(
            Ticket(
                created_at=created,
                team=snapshot["team"],
                first_response_at=first,
                resolved_at=_time(snapshot["resolved_at"])
                if snapshot["resolved_at"]
                else None,
                priority=snapshot["priority"],
                csat=snapshot["csat"],
                messages=[_message(m, agent, analyzer) for m in own],
            )
        )
    return tickets


def _message(
    record: dict[str, Any],
    agent: list[dict[str, Any]],
    analyzer: SentimentIntensityAnalyzer,
) -> Message:
    created = _time(record["created_at"])
    if record["role"] != "customer":
        return Message(created_at=created, role=record["role"])

    answers = [
        _time(a["created_at"])
        for a in agent
        if a["reply_to"] == record["id"] and _time(a["created_at"]) >= created
    ]
    score = analyzer.polarity_scores(record["body"])["compound"]
    return Message(
        created_at=created,
        role="customer",
        sentiment=float(score),
        reply_s=(min(answers) - created).total_seconds() if answers else None,
    )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
