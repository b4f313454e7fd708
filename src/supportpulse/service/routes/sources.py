"""Sources: list them with their status, add, try out, pause, resume, remove.

Options whose names look secret are masked in every answer, and passwords
inside URLs are removed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from supportpulse.config import SourceSettings
from supportpulse.engine.runner import build_source
from supportpulse.errors import ConfigError, SourceError, first_line
from supportpulse.logs import mask_secrets, redact
from supportpulse.service.auth import Admin, Viewer
from supportpulse.service.errors import ApiError, responses
from supportpulse.service.models import SourceList, SourceTest, SourceView
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.sources.probe import FIRST_PAGE_S, probe_source

router = APIRouter(tags=["sources"], responses=responses("unauthorized", "forbidden"))

#: Sample rows a source test returns, as `sources test` shows by default.
SAMPLE_ROWS = 3


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def source_view(runtime: ServiceRuntime, name: str) -> dict[str, Any]:
    """A source's status, settings and masked options."""
    config = runtime.catalog.get(name) or runtime.engine.config(name)
    if config is None:
        raise ApiError("not_found", f"no source named '{name}'")
    statuses = {status["name"]: status for status in runtime.engine.status()}
    status = statuses.get(name) or _not_running(config)
    return {
        **status,
        "type": config.type,
        "origin": runtime.catalog.origin(name) or "config",
        "enabled": config.enabled,
        "required": config.required,
        "interval_s": config.interval.total_seconds(),
        "options": mask_secrets(config.options),
    }


def _not_running(config: SourceSettings) -> dict[str, Any]:
    return {
        "name": config.name,
        "type": config.type,
        "state": "stopped",
        "last_success": None,
        "last_error": None,
        "newest_record": None,
        "lag_s": None,
        "records": 0,
        "rate_per_s": 0.0,
        "errors": 0,
        "retries": 0,
    }


@router.get("/sources", response_model=SourceList)
async def list_sources(request: Request, _: Viewer) -> dict[str, Any]:
    """Every source with its status; secret options masked."""
    runtime = _runtime(request)
    names = list(dict.fromkeys([*runtime.catalog.names(), *_running(runtime)]))
    return {"sources": [source_view(runtime, name) for name in names]}


def _running(runtime: ServiceRuntime) -> list[str]:
    return [status["name"] for status in runtime.engine.status()]


@router.post(
    "/sources",
    status_code=201,
    response_model=SourceView,
    responses=responses("invalid", "conflict"),
)
async def add_source(
    request: Request, _: Admin, source: SourceSettings
) -> dict[str, Any]:
    """Add a source, start it when enabled, and keep it across restarts."""
    runtime = _runtime(request)
    if runtime.catalog.get(source.name) or runtime.engine.config(source.name):
        raise ApiError("conflict", f"a source named '{source.name}' exists already")
    resolved = runtime.catalog.validate(source)

    runtime.catalog.add(source)
    if source.enabled:
        try:
            await runtime.engine.add(resolved)
        except (ConfigError, SourceError) as exc:
            runtime.catalog.remove(source.name)
            raise ApiError(
                "invalid", f"source '{source.name}' cannot start: {redact(str(exc))}"
            ) from None
    return source_view(runtime, source.name)


@router.post(
    "/sources/{name}/test",
    response_model=SourceTest,
    responses=responses("not_found"),
)
async def try_source(request: Request, _: Admin, name: str) -> dict[str, Any]:
    """Connect, take the first page and map it, as `supportpulse sources test`.

    Nothing is written to the store and no cursor moves.
    """
    runtime = _runtime(request)
    config = runtime.catalog.get(name) or runtime.engine.config(name)
    if config is None:
        raise ApiError("not_found", f"no source named '{name}'")
    report: dict[str, Any] = {"source": name, "type": config.type, "ok": False}
    try:
        source = build_source(runtime.catalog.resolve(config), runtime.settings)
        deadline = config.timeout.total_seconds() + FIRST_PAGE_S
        probe = await asyncio.wait_for(probe_source(source, runtime.settings), deadline)
    except (ConfigError, SourceError, TimeoutError) as exc:
        report["error"] = redact(first_line(exc))[:500]
        return report

    batch = probe.batch
    return {
        **report,
        "ok": True,
        "mapping": mask_secrets(probe.mapping),
        "tickets": len(batch.tickets),
        "messages": len(batch.messages),
        "unusable": len(batch.quarantined),
        "sample": [
            {
                "external_id": t.external_id,
                "created_at": t.created_at.isoformat(timespec="seconds") + "Z",
                "team": t.team,
                "priority": t.priority,
                "status": t.status,
                "channel": t.channel,
                "agent": t.agent,
            }
            for t in batch.tickets[:SAMPLE_ROWS]
        ],
        "unusable_reasons": [r.reason for r in batch.quarantined[:SAMPLE_ROWS]],
        "problems": probe.problems,
    }


def _running_or_404(runtime: ServiceRuntime, name: str) -> None:
    if runtime.engine.config(name) is None:
        if runtime.catalog.get(name) is not None:
            raise ApiError("conflict", f"source '{name}' is not running (disabled)")
        raise ApiError("not_found", f"no source named '{name}'")


@router.post(
    "/sources/{name}/pause",
    response_model=SourceView,
    responses=responses("not_found", "conflict"),
)
async def pause_source(request: Request, _: Admin, name: str) -> dict[str, Any]:
    """Stop polling a source until resumed; its cursor is kept."""
    runtime = _runtime(request)
    _running_or_404(runtime, name)
    runtime.engine.pause(name)
    return source_view(runtime, name)


@router.post(
    "/sources/{name}/resume",
    response_model=SourceView,
    responses=responses("not_found", "conflict"),
)
async def resume_source(request: Request, _: Admin, name: str) -> dict[str, Any]:
    """Continue a paused source from where it was."""
    runtime = _runtime(request)
    _running_or_404(runtime, name)
    runtime.engine.resume(name)
    return source_view(runtime, name)


@router.delete(
    "/sources/{name}",
    status_code=204,
    response_class=Response,
    responses=responses("not_found", "conflict"),
)
async def remove_source(request: Request, _: Admin, name: str) -> Response:
    """Stop a source added through the API and forget it.

    Sources of the config file are refused with 409: they would come back at
    the next start, so remove them from the file instead.
    """
    runtime = _runtime(request)
    origin = runtime.catalog.origin(name)
    if origin is None:
        raise ApiError("not_found", f"no source named '{name}'")
    if origin == "config":
        raise ApiError(
            "conflict",
            f"source '{name}' comes from the config file; remove it there and restart",
        )
    if runtime.engine.config(name) is not None:
        await runtime.engine.remove(name)
    runtime.catalog.remove(name)
    return Response(status_code=204)
