"""Transitions and channel settings for notification tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from supportpulse.alerts.state import State
from supportpulse.alerts.transition import Transition

SECRET = "whsec-0123456789abcdef"


def transition(**overrides: Any) -> Transition:
    """A notified firing transition of rule "frt" for team billing."""
    fields: dict[str, Any] = {
        "rule": "frt",
        "group": {"team": "billing"},
        "previous": State.PENDING,
        "state": State.FIRING,
        "at": datetime(2024, 3, 1, 12, 10),
        "value": 4210.0,
        "kpi": "first_response.p90_s",
        "op": ">",
        "threshold": 3600.0,
        "clear_threshold": 3000.0,
        "window": timedelta(hours=1),
        "severity": "warning",
        "notify": True,
        "id": 7,
    }
    fields.update(overrides)
    return Transition(**fields)


def webhook(url: str, **overrides: Any) -> dict[str, Any]:
    """Webhook channel settings as a config file gives them."""
    return {"type": "webhook", "url": url, "secret": SECRET, **overrides}
