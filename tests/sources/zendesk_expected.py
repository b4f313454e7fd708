"""What the store must hold for a fake Zendesk account, derived here from
the Zendesk API documentation, independently of the product's mapper.

Tickets: id as external id; `via.channel` as channel; the group's name as
team; the assignee's and requester's names; the ticket type as category;
first response at creation plus the ticket metric `reply_time_in_seconds`;
resolution at the metric's `solved_at` while solved or closed; CSAT 1 for a
`good` rating, 0 for `bad`; the newer of `updated_at` and
`generated_timestamp` as the version. Tickets with status `deleted` are gone
with their comments. Comments: internal notes are system messages; authors
with role end-user are customers, agents and admins are agents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from supportpulse.fakes.zendesk_account import ZendeskAccount
from supportpulse.store import Store

TICKET_FIELDS = (
    "external_id", "created_at", "updated_at", "status", "priority", "channel",
    "team", "agent", "requester", "category", "tags", "first_response_at",
    "resolved_at", "csat",
)  # fmt: skip
MESSAGE_FIELDS = (
    "external_id", "ticket_external_id", "created_at", "author_role", "author_id",
    "body",
)  # fmt: skip

Rows = dict[str, dict[str, Any]]


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def expected(account: ZendeskAccount) -> tuple[Rows, Rows]:
    """Tickets and messages by external id, as the fake holds them now."""
    tickets: Rows = {}
    messages: Rows = {}
    with account.lock:
        for ticket_id, ticket in account.tickets.items():
            if ticket["status"] == "deleted":
                continue
            tickets[str(ticket_id)] = _ticket(account, ticket)
            for comment in account.comments[ticket_id]:
                messages[str(comment["id"])] = _message(account, ticket_id, comment)
    return tickets, messages


def _ticket(account: ZendeskAccount, ticket: dict[str, Any]) -> dict[str, Any]:
    created = _at(ticket["created_at"])
    metric = account.metric_sets[ticket["id"]]
    reply = metric["reply_time_in_seconds"]["calendar"]
    generated = datetime.fromtimestamp(ticket["generated_timestamp"], UTC)
    users, group = account.users, account.groups.get(ticket["group_id"])
    solved = ticket["status"] in ("solved", "closed") and metric["solved_at"]
    score = ticket["satisfaction_rating"]["score"]
    return {
        "external_id": str(ticket["id"]),
        "created_at": created,
        "updated_at": max(_at(ticket["updated_at"]), generated.replace(tzinfo=None)),
        "status": ticket["status"],
        "priority": ticket["priority"],
        "channel": ticket["via"]["channel"],
        "team": group["name"] if group else None,
        "agent": users[ticket["assignee_id"]]["name"]
        if ticket["assignee_id"]
        else None,
        "requester": users[ticket["requester_id"]]["name"],
        "category": ticket["type"],
        "tags": list(ticket["tags"]),
        "first_response_at": None
        if reply is None
        else created + timedelta(seconds=reply),
        "resolved_at": _at(metric["solved_at"]) if solved else None,
        "csat": {"good": 1.0, "bad": 0.0}.get(score),
    }


def _message(
    account: ZendeskAccount, ticket_id: int, comment: dict[str, Any]
) -> dict[str, Any]:
    role = account.users[comment["author_id"]]["role"]
    if not comment["public"]:
        author_role = "system"
    else:
        author_role = "customer" if role == "end-user" else "agent"
    return {
        "external_id": str(comment["id"]),
        "ticket_external_id": str(ticket_id),
        "created_at": _at(comment["created_at"]),
        "author_role": author_role,
        "author_id": str(comment["author_id"]),
        "body": comment["plain_body"],
    }


def snapshot(store: Store, source: str) -> tuple[Rows, Rows]:
    """The store's tickets and messages of one source, by external id."""
    tables = []
    for table, fields in (("tickets", TICKET_FIELDS), ("messages", MESSAGE_FIELDS)):
        names, rows = store.fetch(
            f"SELECT {', '.join(fields)} FROM {table} WHERE source = :source",
            {"source": source},
        )
        found: Rows = {}
        for row in rows:
            record = dict(zip(names, row, strict=True))
            if "tags" in record:
                record["tags"] = list(record["tags"] or [])
            found[record["external_id"]] = record
        tables.append(found)
    return tables[0], tables[1]


def differences(want: Rows, have: Rows, kind: str, limit: int = 5) -> list[str]:
    """Missing, extra and differing records, a few of each, for a failure."""
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    lines = []
    if missing:
        lines.append(f"{len(missing)} {kind} missing, e.g. {missing[:limit]}")
    if extra:
        lines.append(f"{len(extra)} {kind} extra, e.g. {extra[:limit]}")
    differing = [key for key in want if key in have and want[key] != have[key]]
    for key in differing[:limit]:
        fields = {
            name: (want[key][name], have[key].get(name))
            for name in want[key]
            if want[key][name] != have[key].get(name)
        }
        lines.append(f"{kind} {key} differs (want, have): {fields}")
    if len(differing) > limit:
        lines.append(f"... {len(differing)} {kind} differ in all")
    return lines
