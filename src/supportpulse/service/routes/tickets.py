"""Tickets, newest first, with keyset paging."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from supportpulse.analytics.tickets import TicketQuery, list_tickets
from supportpulse.analytics.window import parse_moment
from supportpulse.service.auth import Viewer
from supportpulse.service.errors import ApiError, responses
from supportpulse.service.models import TicketPage
from supportpulse.service.runtime import ServiceRuntime

router = APIRouter(
    tags=["tickets"], responses=responses("invalid", "unauthorized", "forbidden")
)

MAX_LIMIT = 500
_TEXT = Query(max_length=500)


@router.get("/tickets", response_model=TicketPage)
async def tickets(
    request: Request,
    _: Viewer,
    source: Annotated[str | None, _TEXT] = None,
    team: Annotated[str | None, _TEXT] = None,
    agent: Annotated[str | None, _TEXT] = None,
    channel: Annotated[str | None, _TEXT] = None,
    priority: Annotated[str | None, _TEXT] = None,
    category: Annotated[str | None, _TEXT] = None,
    status: Annotated[str | None, _TEXT] = None,
    since: Annotated[str | None, Query(max_length=100)] = None,
    until: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    """Tickets matching every given field, created in [since, until)."""
    runtime: ServiceRuntime = request.app.state.runtime
    given = {
        "source": source,
        "team": team,
        "agent": agent,
        "channel": channel,
        "priority": priority,
        "category": category,
        "status": status,
    }
    query = TicketQuery(
        filters=tuple((name, value) for name, value in given.items() if value),
        since=parse_moment(since, "since", runtime.settings),
        until=parse_moment(until, "until", runtime.settings),
        limit=limit,
        cursor=cursor,
    )
    if query.since and query.until and query.since >= query.until:
        raise ApiError("invalid", "since must be earlier than until")

    engine = runtime.engine
    rows, next_cursor = await engine.query(list_tickets, engine.store, query)
    return {"tickets": [_view(row) for row in rows], "next_cursor": next_cursor}


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _iso(value) if isinstance(value, datetime) else value
        for name, value in row.items()
    } | {"tags": list(row["tags"] or [])}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"
