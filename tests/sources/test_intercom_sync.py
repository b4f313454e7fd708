"""An Intercom workspace synced under every fault while it changes ends in
the store exactly as the workspace is, field by field.

The expected rows are mapped here from the vendor's documented fields, on
purpose without the connector's mapper.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.sources.helpdesk_sync import Mutator, Rows, differences, settings, sync_until

from supportpulse.fakes import FaultMiddleware, Faults, serving
from supportpulse.fakes.faults import json_throttle
from supportpulse.fakes.intercom import IntercomApp, IntercomLimits, throttled
from supportpulse.fakes.intercom_desk import IntercomDesk
from supportpulse.store import open_store, parse_store_url

pytestmark = pytest.mark.timeout(600)

TOKEN = "ic-test-token"


def _time(seconds: int | None) -> datetime | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _text(html: str | None) -> str | None:
    return None if html is None else re.sub(r"<[^>]+>", "", html)


def expected_rows(desk: IntercomDesk) -> tuple[Rows, Rows]:
    """Tickets and messages the store must hold."""
    conversations, parts = desk.snapshot()
    teams = {int(tid): team["name"] for tid, team in desk.teams.items()}
    admins = {int(aid): admin["name"] for aid, admin in desk.admins.items()}
    roles = {"user": "customer", "lead": "customer", "admin": "agent", "bot": "bot"}
    tickets: Rows = {}
    messages: Rows = {}
    for cid, c in conversations.items():
        stats = c["statistics"]
        rating = c["conversation_rating"]
        tickets[cid] = (
            cid, _time(c["created_at"]), _time(c["updated_at"]), c["state"],
            {"priority": "high", "not_priority": "normal"}[c["priority"]],
            c["source"]["type"], teams.get(c["team_assignee_id"]),
            admins.get(c["admin_assignee_id"]), c["contacts"]["contacts"][0]["id"],
            c["custom_attributes"]["issue_type"],
            sorted(tag["name"] for tag in c["tags"]["tags"]),
            _time(stats["first_admin_reply_at"]),
            _time(stats["last_close_at"]) if c["state"] == "closed" else None,
            None if rating is None else float(rating["rating"]),
        )  # fmt: skip
        author = c["source"]["author"]
        messages[f"{cid}-source"] = (
            f"{cid}-source", cid, _time(c["created_at"]), _time(c["created_at"]),
            roles[author["type"]], author["id"], _text(c["source"]["body"]),
        )  # fmt: skip
        for p in parts[cid]:
            if p["part_type"] not in ("comment", "note"):
                continue
            role = "system" if p["part_type"] == "note" else roles[p["author"]["type"]]
            messages[p["id"]] = (
                p["id"], cid, _time(p["created_at"]), _time(p["updated_at"]), role,
                p["author"]["id"], _text(p["body"]),
            )  # fmt: skip
    return tickets, messages


def check_against(desk: IntercomDesk) -> Any:
    def check(tickets: Rows, messages: Rows) -> list[str]:
        wanted_tickets, wanted_messages = expected_rows(desk)
        return differences(wanted_tickets, tickets) + differences(
            wanted_messages, messages
        )

    return check


def faulty_app(desk: IntercomDesk, faults: Faults, **limits: Any) -> FaultMiddleware:
    error = {"type": "error.list", "errors": [{"code": "rate_limit_exceeded"}]}
    faults.throttle_response = json_throttle(throttled, error)
    return FaultMiddleware(
        IntercomApp(desk, TOKEN, IntercomLimits(**limits)).app, faults
    )


def test_intercom_sync_under_faults_and_changes_ends_equal_to_the_workspace(
    tmp_path: Path,
) -> None:
    desk = IntercomDesk(seed=13)
    desk.populate(3000)
    faults = Faults(seed=9, retry_after_s=1.0, slow_s=0.05)
    faults.enable(throttle=0.002, server_error=0.02, drop=0.01, slow=0.02)
    # A window small enough that the sync meets Intercom's own 429s too.
    app = faulty_app(desk, faults, calls_per_window=700, window_s=1.0)
    changes = random.Random(4)

    with (
        serving(app) as served,
        open_store(parse_store_url(f"duckdb://{tmp_path}/store.duckdb")) as store,
    ):
        config = settings("ic", "intercom", {
            "base_url": served.url, "access_token": TOKEN, "account_rate_per_min": 120000,
            "concurrency": 8, "category_attribute": "issue_type",
        })  # fmt: skip

        def during() -> None:
            with Mutator(lambda: desk.mutate(changes), every_s=0.02) as mutator:
                time.sleep(12)
            assert mutator.count > 300
            faults.disable()

        problems = asyncio.run(
            sync_until(store, config, during, check_against(desk), "ic")
        )

    assert faults.injected["server_error"] > 0
    assert faults.injected["drop"] > 0
    assert faults.injected["throttle"] > 0
    assert not problems, "\n".join(problems)
