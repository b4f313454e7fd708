"""POST /webhooks/{source}: a vendor says something changed; poll it now.

No bearer token: the vendor's own signature authenticates the request (see
webhooks/verify.py). A refused request (unconfigured source, oversized,
unsigned, forged or replayed) writes nothing and triggers nothing; an event
id seen before is acknowledged without a second poll.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from supportpulse.service.errors import ApiError, responses
from supportpulse.service.models import WebhookAccepted
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.webhooks.events import remember
from supportpulse.webhooks.verify import WebhookRefused, verify

log = structlog.get_logger("supportpulse.webhooks")

router = APIRouter(tags=["webhooks"])


@router.post(
    "/webhooks/{source}",
    response_model=WebhookAccepted,
    status_code=202,
    responses={
        200: {"model": WebhookAccepted, "description": "a redelivery, ignored"},
        **responses("unauthorized", "not_found", "too_large"),
    },
)
async def receive(source: str, request: Request) -> Any:
    """Verify a vendor webhook and make its source poll now."""
    runtime: ServiceRuntime = request.app.state.runtime
    settings = runtime.settings.webhooks
    config = settings.sources.get(source)
    if config is None:
        raise ApiError("not_found", f"no webhook is configured for source '{source}'")

    body = await _body(request, settings.max_bytes)
    now = datetime.now(UTC)
    try:
        event_id = verify(config, request.headers, body, now, settings.tolerance)
    except WebhookRefused as refused:
        log.warning("webhook_refused", source=source, reason=refused.reason)
        raise ApiError("unauthorized", f"webhook refused: {refused.reason}") from None

    naive = now.replace(tzinfo=None)
    fresh = await runtime.engine.query(
        remember,
        runtime.engine.store,
        source,
        event_id,
        naive,
        naive - settings.remember,
    )
    if not fresh:
        log.info("webhook_duplicate", source=source)
        return JSONResponse({"status": "duplicate", "polling": False}, status_code=200)
    polling = runtime.engine.poll_now(source)
    log.info("webhook_accepted", source=source, polling=polling)
    return {"status": "accepted", "polling": polling}


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused once it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError("too_large", f"webhook body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ApiError("too_large", f"webhook body over {limit} bytes")
    return bytes(body)
