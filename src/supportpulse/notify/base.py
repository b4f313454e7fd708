"""What every notification channel is, and the one error a delivery raises."""

from __future__ import annotations

from abc import ABC, abstractmethod

from supportpulse.alerts.transition import Transition
from supportpulse.errors import SupportPulseError
from supportpulse.notify.settings import BaseChannelSettings


class DeliveryError(SupportPulseError):
    """A notification did not get through.

    `retriable` says whether another attempt may succeed (network trouble,
    a timeout, HTTP 429 or 5xx, SMTP 4xx); `retry_after` is the wait the
    receiver asked for, in seconds. The message names the channel and the
    status, never a URL, header or secret, because retries log it.
    """

    def __init__(
        self, message: str, *, retriable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retriable = retriable
        self.retry_after = retry_after


class Channel(ABC):
    """One place notifications go: the log, a webhook, Slack, email."""

    def __init__(self, settings: BaseChannelSettings) -> None:
        self.settings = settings
        self.name = settings.name

    @abstractmethod
    async def send(self, transition: Transition) -> None:
        """Deliver one transition once; raise DeliveryError when it fails."""

    # Channels without connections have nothing to release.
    async def aclose(self) -> None:  # noqa: B027 - deliberately a no-op here
        """Release connections the channel keeps between deliveries."""
