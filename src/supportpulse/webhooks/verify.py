"""Each vendor's webhook signature scheme, checked without I/O.

- Zendesk: `X-Zendesk-Webhook-Signature` is base64 HMAC-SHA256, keyed with
  the signing secret's text, of the `X-Zendesk-Webhook-Signature-Timestamp`
  header (ISO 8601) followed by the raw body; timestamps outside the
  tolerance are refused as replays.
- Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body keyed
  with the app's client secret. The signature covers no delivery time, so
  replays are caught by the event id alone.
- Freshdesk: automation-rule webhooks are not signed; the rule sends a
  shared secret in a header of the user's choice, or HTTP Basic credentials.

Every comparison runs in constant time. The event id is the payload's `id`
(Zendesk event subscriptions, Intercom notifications), else Zendesk's
invocation id, else a digest of the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from supportpulse.webhooks.settings import WebhookSource


class WebhookRefused(Exception):  # noqa: N818 - a refusal, not a program error
    """The request is not a genuine, fresh webhook; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(
    config: WebhookSource,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta,
) -> str:
    """The event id of a genuine webhook; raises WebhookRefused otherwise.

    `headers` must be case-insensitive (as Starlette's and httpx's are) or
    hold lower-case names; `now` is an aware datetime.
    """
    if config.scheme == "zendesk":
        _zendesk(config.secret, headers, body, now, tolerance)
    elif config.scheme == "intercom":
        _intercom(config.secret, headers, body)
    else:
        _freshdesk(config, headers)
    return event_id(headers, body)


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature of `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def intercom_signature(secret: str, body: bytes) -> str:
    """Intercom's X-Hub-Signature value for `body`."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def _zendesk(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta,
) -> None:
    signature = headers.get("x-zendesk-webhook-signature")
    stamp = headers.get("x-zendesk-webhook-signature-timestamp")
    if not signature or not stamp:
        raise WebhookRefused("unsigned: no Zendesk signature or timestamp header")
    try:
        sent = datetime.fromisoformat(stamp)
    except ValueError:
        raise WebhookRefused("the signature timestamp is not ISO 8601") from None
    if sent.tzinfo is None or abs(now - sent) > tolerance:
        raise WebhookRefused("the signature timestamp is outside the replay window")
    if not _same(signature, zendesk_signature(secret, stamp, body)):
        raise WebhookRefused("the Zendesk signature does not match")


def _intercom(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    signature = headers.get("x-hub-signature")
    if not signature:
        raise WebhookRefused("unsigned: no X-Hub-Signature header")
    if not _same(signature.lower(), intercom_signature(secret, body)):
        raise WebhookRefused("the Intercom signature does not match")


def _freshdesk(config: WebhookSource, headers: Mapping[str, str]) -> None:
    if config.header:
        given = headers.get(config.header.lower())
        if not given:
            raise WebhookRefused(f"unsigned: no {config.header} header")
        if not _same(given, config.secret):
            raise WebhookRefused(f"the {config.header} header does not match")
        return

    scheme, _, encoded = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        raise WebhookRefused("unsigned: no Basic authorization")
    try:
        given = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise WebhookRefused("the Basic authorization is malformed") from None
    if not _same(given, f"{config.username}:{config.secret}"):
        raise WebhookRefused("the Basic credentials do not match")


def event_id(headers: Mapping[str, str], body: bytes) -> str:
    """The id a redelivery of the same event repeats."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("id"), str | int):
        return str(payload["id"])[:200]
    invocation = headers.get("x-zendesk-webhook-invocation-id")
    if invocation:
        return invocation[:200]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
