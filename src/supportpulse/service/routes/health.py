"""Liveness and readiness, for orchestrators; no token needed."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from supportpulse.errors import first_line
from supportpulse.logs import redact
from supportpulse.service.models import Health, Readiness
from supportpulse.service.runtime import ServiceRuntime

router = APIRouter(tags=["health"])

#: How long readiness waits for the store before calling it unreachable.
STORE_CHECK_S = 5.0


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up and answering."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Ready when the store answers and no required source has failed."""
    runtime: ServiceRuntime = request.app.state.runtime
    store = await _store_state(runtime)
    sources = runtime.engine.status()
    required = {
        name
        for name in runtime.catalog.names()
        if (config := runtime.catalog.get(name)) is not None and config.required
    }
    failed = any(s["state"] == "failed" for s in sources if s["name"] in required)
    ready = store == "ok" and not failed
    body = Readiness.model_validate(
        {"ready": ready, "store": store, "sources": sources}
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _store_state(runtime: ServiceRuntime) -> str:
    engine = runtime.engine
    check: asyncio.Future[object] = asyncio.ensure_future(
        engine.query(engine.store.fetch, "SELECT 1")
    )
    # Not cancelled on timeout: the store call cannot be interrupted, and the
    # next check should not queue behind a cancelled one.
    done, _ = await asyncio.wait({check}, timeout=STORE_CHECK_S)
    if not done:
        check.add_done_callback(lambda task: task.exception())
        return f"no answer within {STORE_CHECK_S:g} s"
    if (error := check.exception()) is not None:
        return str(redact(first_line(error)))[:300]
    return "ok"
