"""A Freshdesk account synced under every fault while it changes ends in the
store exactly as the account is, field by field.

The expected rows are mapped here from the vendor's documented codes, on
purpose without the connector's mapper.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.sources.helpdesk_sync import Mutator, Rows, differences, settings, sync_until

from supportpulse.fakes import FaultMiddleware, Faults, serving
from supportpulse.fakes.faults import json_throttle
from supportpulse.fakes.freshdesk import FreshdeskApp, FreshdeskLimits, throttled
from supportpulse.fakes.freshdesk_desk import FreshdeskDesk
from supportpulse.store import open_store, parse_store_url

pytestmark = pytest.mark.timeout(600)

KEY = "fd-test-key"
STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
CHANNEL = {1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback_widget",
           10: "outbound_email"}  # fmt: skip
# Classic survey answers -103..103 spread evenly over 1-5.
SCALE = {-103: 1.0, -102: 5 / 3, -101: 7 / 3, 100: 3.0, 101: 11 / 3, 102: 13 / 3,
         103: 5.0}  # fmt: skip


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def expected_rows(desk: FreshdeskDesk) -> tuple[Rows, Rows, set[str]]:
    """Tickets and messages the store must hold, and the deleted tickets."""
    tickets, conversations, ratings = desk.snapshot()
    groups = {gid: group["name"] for gid, group in desk.groups.items()}
    agents = {aid: agent["contact"]["name"] for aid, agent in desk.agents.items()}
    wanted_tickets: Rows = {}
    wanted_messages: Rows = {}
    deleted = set()
    for tid, t in tickets.items():
        stats = t["stats"]
        solved = t["status"] in (4, 5)
        rated = max(ratings[tid], key=lambda r: r["id"], default=None)
        key = str(tid)
        if t["deleted"]:
            deleted.add(key)
        wanted_tickets[key] = (
            key, _time(t["created_at"]), _time(t["updated_at"]),
            "deleted" if t["deleted"] else STATUS[t["status"]],
            PRIORITY[t["priority"]], CHANNEL[t["source"]],
            groups.get(t["group_id"]), agents.get(t["responder_id"]),
            str(t["requester_id"]), t["type"], list(t["tags"]),
            _time(stats["first_responded_at"]),
            _time(stats["resolved_at"] or stats["closed_at"]) if solved else None,
            None if rated is None
            else round(SCALE[rated["ratings"]["default_question"]], 6),
        )  # fmt: skip
        opening = f"{tid}-description"
        wanted_messages[opening] = (
            opening, key, _time(t["created_at"]), _time(t["created_at"]), "customer",
            str(t["requester_id"]), t["description_text"],
        )  # fmt: skip
        for c in conversations[tid]:
            role = (
                "customer" if c["incoming"] else "system" if c["private"] else "agent"
            )
            wanted_messages[str(c["id"])] = (
                str(c["id"]), key, _time(c["created_at"]), _time(c["updated_at"]), role,
                str(c["user_id"]), c["body_text"],
            )  # fmt: skip
    return wanted_tickets, wanted_messages, deleted


def check_against(desk: FreshdeskDesk) -> Any:
    """A check of the store against the account as it is now.

    A deleted ticket keeps the messages it had when last seen alive: those
    must equal the account's, but a ticket deleted before it was first read
    has none.
    """

    def check(tickets: Rows, messages: Rows) -> list[str]:
        wanted_tickets, wanted_messages, deleted = expected_rows(desk)
        kept = {row[1] for row in messages.values()}
        wanted_messages = {
            key: row
            for key, row in wanted_messages.items()
            if row[1] not in deleted or row[1] in kept
        }
        return differences(wanted_tickets, tickets) + differences(
            wanted_messages, messages
        )

    return check


def faulty_app(desk: FreshdeskDesk, faults: Faults, **limits: Any) -> FaultMiddleware:
    faults.throttle_response = json_throttle(throttled, {"code": "rate_limit_exceeded"})
    app = FreshdeskApp(desk, KEY, FreshdeskLimits(**limits))
    return FaultMiddleware(app.app, faults)


def test_freshdesk_sync_under_faults_and_changes_ends_equal_to_the_account(
    tmp_path: Path,
) -> None:
    desk = FreshdeskDesk(seed=11)
    desk.populate(3000)
    faults = Faults(seed=5, retry_after_s=1.0, slow_s=0.05)
    faults.enable(throttle=0.002, server_error=0.02, drop=0.01, slow=0.02)
    # Account credits small enough that the sync meets Freshdesk's own 429s.
    app = faulty_app(desk, faults, credits_per_window=1500, window_s=1.0)
    changes = random.Random(3)

    with (
        serving(app) as served,
        open_store(parse_store_url(f"duckdb://{tmp_path}/store.duckdb")) as store,
    ):
        config = settings("fd", "freshdesk", {
            "base_url": served.url, "api_key": KEY, "account_rate_per_min": 120000,
            "concurrency": 8, "per_page": 100,
        })  # fmt: skip

        def during() -> None:
            with Mutator(lambda: desk.mutate(changes), every_s=0.02) as mutator:
                time.sleep(12)
            assert mutator.count > 300
            faults.disable()

        problems = asyncio.run(
            sync_until(store, config, during, check_against(desk), "fd")
        )

    assert faults.injected["server_error"] > 0
    assert faults.injected["drop"] > 0
    assert faults.injected["throttle"] > 0
    assert not problems, "\n".join(problems)
