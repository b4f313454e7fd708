"""From tickets in a store to a signed webhook, Slack and email, and back.

The evaluator runs over a real DuckDB store with time moved by its clock;
its transitions go through the Notifier to real receivers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from supportpulse.alerts.evaluator import AlertEvaluator
from supportpulse.alerts.repository import AlertRepository
from supportpulse.config import Settings
from supportpulse.model import Batch, Ticket
from supportpulse.notify.notifier import Notifier
from supportpulse.store import Store

from .samples import SECRET
from .servers import http_receiver, smtp_receiver

T0 = datetime(2024, 3, 1, 12, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(minutes=10)

    def __call__(self) -> datetime:
        return self.now


def test_alert_fires_notifies_and_resolves(duckdb_store: Store) -> None:
    tickets = [
        Ticket("test", f"t{i}", T0 + timedelta(minutes=i), T0, team="billing")
        for i in range(5)
    ]
    duckdb_store.write(Batch(tickets=tickets))
    clock = Clock()

    with (
        http_receiver(secret=SECRET.encode()) as hook,
        http_receiver() as slack,
        smtp_receiver() as smtp,
    ):
        settings = Settings.model_validate(
            {
                "alerts": {
                    "rules": [
                        {
                            "name": "busy",
                            "kpi": "tickets",
                            "by": ["team"],
                            "op": ">",
                            "threshold": 3,
                            "severity": "critical",
                        }
                    ],
                    "notifications": [
                        {"type": "webhook", "url": hook.url, "secret": SECRET},
                        {"type": "slack", "url": slack.url},
                        {
                            "type": "email",
                            "host": "127.0.0.1",
                            "port": smtp.port,
                            "starttls": False,
                            "sender": "alerts@example.org",
                            "recipients": ["oncall@example.org"],
                        },
                    ],
                }
            }
        )
        evaluator = AlertEvaluator(duckdb_store, settings, clock)

        async def run() -> None:
            async with Notifier.from_settings(settings.alerts) as notifier:
                for transition in evaluator.evaluate():
                    notifier.notify(transition)
                clock.now += timedelta(hours=2)
                for transition in evaluator.evaluate():
                    notifier.notify(transition)
                clock.now += timedelta(minutes=1)
                for transition in evaluator.evaluate():
                    notifier.notify(transition)
                await notifier.join()

        asyncio.run(run())

    history = AlertRepository(duckdb_store).history()
    documents = [json.loads(request.body) for request in hook.requests]
    assert [(d["state"], d["value"], d["group"]) for d in documents] == [
        ("firing", 5.0, {"team": "billing"}),
        ("resolved", 0.0, {"team": "billing"}),
    ]
    assert all(request.signature_ok for request in hook.requests)
    assert [d["id"] for d in documents] == [t.id for t in reversed(history[1:])]
    assert [json.loads(r.body)["text"].split(" ")[0] for r in slack.requests] == [
        ":rotating_light:",
        ":white_check_mark:",
    ]
    assert [message["Subject"] for _, message in smtp.messages] == [
        "[supportpulse] FIRING busy for team=billing",
        "[supportpulse] RESOLVED busy for team=billing",
    ]
    assert [t.state.value for t in reversed(history)] == ["firing", "resolved", "ok"]
