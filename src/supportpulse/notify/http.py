"""One HTTP POST for the webhook and Slack channels; failures become DeliveryError."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from supportpulse.notify.base import DeliveryError

#: Statuses worth another attempt: timeouts, rate limits, server trouble.
_RETRIABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


async def post(
    client: httpx.AsyncClient,
    channel: str,
    url: str,
    content: bytes,
    headers: Mapping[str, str],
) -> httpx.Response:
    """POST `content` to `url`; raise DeliveryError unless the answer is 2xx."""
    try:
        response = await client.post(url, content=content, headers=dict(headers))
    except httpx.TimeoutException:
        raise DeliveryError(f"{channel}: no answer in time", retriable=True) from None
    except httpx.TransportError as exc:
        # The exception text can hold the URL, so only its class is kept.
        raise DeliveryError(
            f"{channel}: cannot reach the receiver ({type(exc).__name__})",
            retriable=True,
        ) from None

    if response.is_success:
        return response
    status = response.status_code
    retriable = status in _RETRIABLE_STATUS
    hint = "" if retriable else "; check the channel's url and secret"
    raise DeliveryError(
        f"{channel}: the receiver answered HTTP {status}{hint}",
        retriable=retriable,
        retry_after=retry_after(response.headers.get("retry-after")),
    )


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 section 10.2.3)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
