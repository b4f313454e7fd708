"""Alerts: current states, history, acknowledge and silence.

The same repository and views as `supportpulse alerts`, through the
engine's store connection.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from supportpulse.alerts.repository import AlertRepository
from supportpulse.alerts.transition import group_key
from supportpulse.alerts.views import iso, state_view, transition_view
from supportpulse.service.auth import Admin, Viewer
from supportpulse.service.errors import ApiError, responses
from supportpulse.service.models import (
    Acknowledged,
    AlertHistory,
    AlertList,
    GroupChoice,
    Silenced,
    SilenceRequest,
)
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.store import Store

router = APIRouter(tags=["alerts"], responses=responses("unauthorized", "forbidden"))

_SPAN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_SPAN_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: The longest silence; longer ones are better done by removing the rule.
MAX_SILENCE = timedelta(days=365)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@router.get("/alerts", response_model=AlertList)
async def alerts(request: Request, _: Viewer) -> dict[str, Any]:
    """The current state of every rule and group the engine evaluated."""
    runtime = _runtime(request)

    def read(store: Store) -> list[dict[str, Any]]:
        repository, now = AlertRepository(store), _now()
        silences = repository.silences(now)
        return [state_view(row, silences, now) for row in repository.states()]

    return {"alerts": await runtime.engine.query(read, runtime.engine.store)}


@router.get("/alerts/history", response_model=AlertHistory)
async def history(
    request: Request,
    _: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    rule: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """State changes, newest first."""
    runtime = _runtime(request)
    repository = AlertRepository(runtime.engine.store)
    transitions = await runtime.engine.query(repository.history, rule, limit)
    return {"events": [transition_view(t) for t in transitions]}


def _group_key(runtime: ServiceRuntime, rule: str, choice: GroupChoice) -> str | None:
    configured = runtime.settings.alerts.rule(rule)
    if configured is None:
        names = ", ".join(r.name for r in runtime.settings.alerts.rules) or "none"
        raise ApiError(
            "not_found", f"no alert rule named '{rule}'; configured: {names}"
        )
    if choice.group is None:
        return None
    if set(choice.group) != set(configured.by):
        dims = ", ".join(configured.by) or "nothing (use {})"
        raise ApiError(
            "invalid",
            f"body key 'group': rule '{rule}' groups by {dims}; name exactly those",
        )
    return group_key(choice.group)


@router.post(
    "/alerts/{rule}/acknowledge",
    response_model=Acknowledged,
    responses=responses("invalid", "not_found", "conflict"),
)
async def acknowledge(
    request: Request,
    _: Admin,
    rule: str,
    choice: Annotated[GroupChoice | None, Body()] = None,
) -> dict[str, Any]:
    """Acknowledge a pending or firing alert: quiet until it resolves."""
    runtime = _runtime(request)
    key = _group_key(runtime, rule, choice or GroupChoice())
    repository = AlertRepository(runtime.engine.store)
    acked = await runtime.engine.query(repository.acknowledge, rule, key, _now())
    if not acked:
        raise ApiError(
            "conflict", f"rule '{rule}' has no pending or firing alert to acknowledge"
        )
    return {"rule": rule, "groups": [json.loads(k) for k in acked]}


@router.post(
    "/alerts/{rule}/silence",
    response_model=Silenced,
    responses=responses("invalid", "not_found"),
)
async def silence(
    request: Request, _: Admin, rule: str, body: SilenceRequest
) -> dict[str, Any]:
    """Hold back a rule's notifications for a while; states still change."""
    runtime = _runtime(request)
    key = _group_key(runtime, rule, body)
    match = _SPAN.match(body.for_)
    assert match is not None  # the model's pattern guarantees it
    seconds = int(match[1]) * _SPAN_UNIT_S[match[2]]
    if not 0 < seconds <= MAX_SILENCE.total_seconds():
        raise ApiError("invalid", "body key 'for': use a span from 1s up to 365d")
    span = timedelta(seconds=seconds)

    now = _now()
    repository = AlertRepository(runtime.engine.store)
    await runtime.engine.query(repository.silence, rule, key, now + span, now)
    group = json.loads(key) if key is not None else None
    return {"rule": rule, "group": group, "until": iso(now + span)}
