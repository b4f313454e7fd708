"""The signed webhook channel: the payload as a JSON POST.

Headers: `X-Supportpulse-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact
body bytes under the channel's secret, and `X-Supportpulse-Timestamp`, the
Unix time of the attempt. The signature covers the body only; the body holds
the transition's `at` and history `id`, which receivers use against replays
and for deduplicating retried deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from supportpulse.alerts.transition import Transition
from supportpulse.notify.base import Channel
from supportpulse.notify.http import post
from supportpulse.notify.message import body
from supportpulse.notify.settings import WebhookChannelSettings

SIGNATURE_HEADER = "X-Supportpulse-Signature"
TIMESTAMP_HEADER = "X-Supportpulse-Timestamp"


def signature(secret: bytes, content: bytes) -> str:
    """The signature header's value for `content`: "sha256=" and the hex HMAC."""
    return "sha256=" + hmac.new(secret, content, hashlib.sha256).hexdigest()


class WebhookChannel(Channel):
    """POSTs the JSON payload, signed, to one URL."""

    def __init__(
        self, settings: WebhookChannelSettings, client: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(settings)
        self._url = settings.url.get_secret_value()
        self._secret = settings.secret.get_secret_value().encode()
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def send(self, transition: Transition) -> None:
        """POST one signed payload; raise DeliveryError unless answered 2xx."""
        content = body(transition)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "supportpulse",
            SIGNATURE_HEADER: signature(self._secret, content),
            TIMESTAMP_HEADER: str(int(time.time())),
        }
        await post(self._client, self.name, self._url, content, headers)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
