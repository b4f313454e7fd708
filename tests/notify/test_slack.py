"""The Slack channel against a Slack-shaped incoming webhook on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

from supportpulse.alerts.state import State
from supportpulse.notify.notifier import deliver
from supportpulse.notify.settings import SlackChannelSettings
from supportpulse.notify.slack import SlackChannel

from .samples import transition
from .servers import Answer, http_receiver


def send(url: str, **overrides: object) -> bool:
    settings = SlackChannelSettings.model_validate({"type": "slack", "url": url})
    target = SlackChannel(settings)

    async def run() -> bool:
        try:
            return await deliver(target, transition(**overrides))
        finally:
            await target.aclose()

    return asyncio.run(run())


def test_slack_gets_a_text_message() -> None:
    with http_receiver() as slack:
        delivered = send(slack.url, state=State.RESOLVED, previous=State.FIRING)
        (request,) = slack.wait_for(1)

    assert delivered
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "text": ":white_check_mark: [warning] frt is resolved for team=billing: "
        "first_response.p90_s = 4210 (fires when > 3600, over the last 1h)"
    }
    assert "x-supportpulse-signature" not in request.headers


def test_slack_invalid_payload_is_not_retried() -> None:
    with http_receiver([Answer(400, b"invalid_payload")]) as slack:
        delivered = send(slack.url)

    assert not delivered
    assert len(slack.requests) == 1


def test_slack_rate_limit_is_retried_after_the_wait_it_asks() -> None:
    with http_receiver([Answer(429, b"rate_limited", {"Retry-After": "0"})]) as slack:
        delivered = send(slack.url)

    assert delivered
    assert len(slack.requests) == 2
