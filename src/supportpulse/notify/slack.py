"""The Slack channel: an incoming webhook given {"text": summary}.

Slack answers 200 "ok" on success, 4xx with a reason such as `invalid_payload`
or `channel_is_archived` (fatal), and 429 with Retry-After when rate limited
(https://api.slack.com/messaging/webhooks#handling_errors).
"""

from __future__ import annotations

import json

import httpx

from supportpulse.alerts.transition import Transition
from supportpulse.notify.base import Channel
from supportpulse.notify.http import post
from supportpulse.notify.message import summary
from supportpulse.notify.settings import SlackChannelSettings

_ICONS = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}


def slack_text(transition: Transition) -> str:
    """The message text: an icon for the state, then the summary line."""
    icon = _ICONS.get(transition.state.value, ":grey_question:")
    return f"{icon} {summary(transition)}"


class SlackChannel(Channel):
    """Posts the summary line to a Slack incoming webhook."""

    def __init__(
        self, settings: SlackChannelSettings, client: httpx.AsyncClient | None = None
    ) -> None:
        super().__init__(settings)
        self._url = settings.url.get_secret_value()
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def send(self, transition: Transition) -> None:
        """POST the text; raise DeliveryError unless Slack answers 2xx."""
        content = json.dumps({"text": slack_text(transition)}).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "supportpulse"}
        await post(self._client, self.name, self._url, content, headers)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
