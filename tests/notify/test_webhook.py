"""The signed webhook channel against real HTTP receivers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from supportpulse.notify.base import DeliveryError
from supportpulse.notify.notifier import deliver
from supportpulse.notify.settings import WebhookChannelSettings
from supportpulse.notify.webhook import WebhookChannel, signature

from .samples import SECRET, transition, webhook
from .servers import Answer, http_receiver


def channel(url: str, **overrides: Any) -> WebhookChannel:
    return WebhookChannel(
        WebhookChannelSettings.model_validate(webhook(url, **overrides))
    )


def send(target: WebhookChannel) -> bool:
    async def run() -> bool:
        try:
            return await deliver(target, transition())
        finally:
            await target.aclose()

    return asyncio.run(run())


def test_webhook_posts_the_signed_payload() -> None:
    with http_receiver(secret=SECRET.encode()) as receiver:
        delivered = send(channel(receiver.url + "?token=abc"))
        (request,) = receiver.wait_for(1)

    assert delivered
    assert request.signature_ok is True
    assert request.path == "/hook?token=abc"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-supportpulse-signature"] == signature(
        SECRET.encode(), request.body
    )
    assert request.headers["x-supportpulse-timestamp"].isdigit()
    document = json.loads(request.body)
    assert (document["rule"], document["state"], document["value"]) == (
        "frt",
        "firing",
        4210.0,
    )


def test_webhook_signed_with_another_secret_is_refused_once() -> None:
    with http_receiver(secret=b"the-receivers-own-secret") as receiver:
        delivered = send(channel(receiver.url))
        requests = receiver.wait_for(1)

    assert not delivered
    assert [r.signature_ok for r in requests] == [False]


def test_webhook_retries_a_server_error_then_succeeds() -> None:
    with http_receiver([Answer(500, b"oops")], secret=SECRET.encode()) as receiver:
        delivered = send(channel(receiver.url))
        requests = receiver.wait_for(2)

    assert delivered
    assert len(requests) == 2
    assert requests[0].body == requests[1].body


def test_webhook_honours_retry_after_on_429() -> None:
    limited = Answer(429, b"slow down", {"Retry-After": "0"})
    with http_receiver([limited, limited]) as receiver:
        delivered = send(channel(receiver.url))

    assert delivered
    assert len(receiver.requests) == 3


def test_webhook_gives_up_after_its_attempts() -> None:
    with http_receiver([Answer(503)] * 10) as receiver:
        delivered = send(channel(receiver.url, attempts=2))

    assert not delivered
    assert len(receiver.requests) == 2


def test_webhook_does_not_retry_a_client_error() -> None:
    with http_receiver([Answer(404)]) as receiver:
        delivered = send(channel(receiver.url))

    assert not delivered
    assert len(receiver.requests) == 1


def test_webhook_times_out_a_receiver_that_hangs() -> None:
    with http_receiver(hang=True) as receiver:
        target = channel(receiver.url, timeout=timedelta(milliseconds=200), attempts=1)
        delivered = send(target)

    assert not delivered
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_http_client_errors_are_fatal(status: int) -> None:
    with http_receiver([Answer(status)]) as receiver:
        target = channel(receiver.url)

        async def run() -> DeliveryError:
            try:
                with pytest.raises(DeliveryError) as caught:
                    await target.send(transition())
                return caught.value
            finally:
                await target.aclose()

        error = asyncio.run(run())

    assert not error.retriable
    assert str(error) == (
        f"webhook: the receiver answered HTTP {status}; check the channel's url and secret"
    )


def test_unreachable_receiver_is_retriable_and_names_no_url() -> None:
    with http_receiver() as receiver:
        url = receiver.url
    target = channel(url + "?token=hidden")

    async def run() -> DeliveryError:
        try:
            with pytest.raises(DeliveryError) as caught:
                await target.send(transition())
            return caught.value
        finally:
            await target.aclose()

    error = asyncio.run(run())

    assert error.retriable
    assert "127.0.0.1" not in str(error)
    assert "hidden" not in str(error)


def test_webhook_settings_demand_a_secret_and_an_http_url() -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookChannelSettings.model_validate({"type": "webhook", "url": "http://h/"})
    with pytest.raises(ValueError, match="url must be an http"):
        WebhookChannelSettings.model_validate(webhook("ftp://127.0.0.1/x?token=t"))
