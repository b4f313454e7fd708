"""Fanning transitions out to channels in the background.

`Notifier.notify()` only queues: each channel has its own bounded queue and
one worker task, so a slow or failing channel delays nobody, not even the
other channels, and one channel's notifications arrive in order. A full
queue drops its oldest notification with a WARNING.

Each delivery attempt has the channel's `timeout`; failed attempts that may
succeed later are retried by stamina with exponential backoff and jitter,
bounded by `attempts` and `retry_timeout`.

Logged: `notification_sent` (INFO), `notification_failed` and
`notification_dropped` (WARNING), `notification_crashed` (ERROR, a bug);
stamina logs each scheduled retry as `stamina.retry_scheduled` (WARNING)
with the DeliveryError, whose text holds no URL or secret.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import stamina
import structlog

from supportpulse.alerts.rules import AlertSettings
from supportpulse.alerts.transition import Transition
from supportpulse.notify.base import Channel, DeliveryError
from supportpulse.notify.settings import (
    ChannelSettings,
    EmailChannelSettings,
    SlackChannelSettings,
    WebhookChannelSettings,
)

log = structlog.get_logger("supportpulse.notify")

#: Notifications waiting per channel before the oldest is dropped.
DEFAULT_QUEUE_SIZE = 256
#: Backoff before the second attempt, doubling up to the cap, plus up to
#: one second of jitter.
_WAIT_INITIAL_S = 0.5
_WAIT_MAX_S = 30.0
_WAIT_JITTER_S = 1.0


def build_channel(settings: ChannelSettings) -> Channel:
    """The channel a settings entry describes."""
    if isinstance(settings, WebhookChannelSettings):
        from supportpulse.notify.webhook import WebhookChannel

        return WebhookChannel(settings)
    if isinstance(settings, SlackChannelSettings):
        from supportpulse.notify.slack import SlackChannel

        return SlackChannel(settings)
    if isinstance(settings, EmailChannelSettings):
        from supportpulse.notify.email import EmailChannel

        return EmailChannel(settings)
    from supportpulse.notify.log import LogChannel

    return LogChannel(settings)


@dataclass
class _Lane:
    """One channel's queue and the task draining it."""

    channel: Channel
    queue: asyncio.Queue[Transition]
    worker: asyncio.Task[None] | None = None


class Notifier:
    """Delivers notified transitions to every channel that hears their severity.

    Use it inside a running event loop: `async with Notifier(...) as n`, or
    `await n.start()` and later `await n.aclose()`. `notify()` never blocks
    and may be called from any thread.
    """

    def __init__(
        self, channels: Sequence[Channel], *, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.channels = list(channels)
        self.queue_size = queue_size
        self._lanes: list[_Lane] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(
        cls, settings: AlertSettings, *, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> Notifier:
        """A notifier for the channels under `alerts.notifications`."""
        return cls(
            [build_channel(entry) for entry in settings.notifications],
            queue_size=queue_size,
        )

    async def start(self) -> None:
        """Start one delivery worker per channel on the running loop."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        for channel in self.channels:
            lane = _Lane(channel, asyncio.Queue(self.queue_size))
            lane.worker = asyncio.create_task(
                self._work(lane), name=f"notify-{channel.name}"
            )
            self._lanes.append(lane)

    def notify(self, transition: Transition) -> None:
        """Queue a transition for every channel, if it is news to tell.

        Transitions whose `notify` is false (no news, or held back by an
        acknowledgement or silence) are ignored, so the evaluator's whole
        output can be passed in. Returns at once.
        """
        if not transition.notify:
            return
        if self._loop is None:
            raise RuntimeError("Notifier.notify() called before start()")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._enqueue(transition)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, transition)

    async def join(self) -> None:
        """Wait until every queued notification was delivered or given up on."""
        for lane in self._lanes:
            await lane.queue.join()

    async def aclose(self, grace: float = 5.0) -> None:
        """Give queued deliveries up to `grace` seconds, then stop and close."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.join(), grace)
        for lane in self._lanes:
            if lane.worker is not None:
                lane.worker.cancel()
        for lane in self._lanes:
            if lane.worker is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.worker
            await lane.channel.aclose()
        self._lanes.clear()
        self._loop = None

    async def __aenter__(self) -> Notifier:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _enqueue(self, transition: Transition) -> None:
        for lane in self._lanes:
            if not lane.channel.settings.hears(transition.severity):
                continue
            if lane.queue.full():
                dropped = lane.queue.get_nowait()
                lane.queue.task_done()
                log.warning(
                    "notification_dropped",
                    channel=lane.channel.name,
                    rule=dropped.rule,
                    state=dropped.state.value,
                    history_id=dropped.id,
                    queue_size=self.queue_size,
                )
            lane.queue.put_nowait(transition)

    async def _work(self, lane: _Lane) -> None:
        while True:
            transition = await lane.queue.get()
            try:
                await deliver(lane.channel, transition)
            finally:
                lane.queue.task_done()


async def deliver(channel: Channel, transition: Transition) -> bool:
    """Deliver one transition with timeouts and retries; never raises.

    Returns whether it got through. Failures are logged, not raised, since
    nobody waits for a notification.
    """
    settings = channel.settings
    attempts = 0
    try:
        async for attempt in stamina.retry_context(
            on=_retry_on,
            attempts=settings.attempts,
            timeout=settings.retry_timeout,
            wait_initial=_WAIT_INITIAL_S,
            wait_max=_WAIT_MAX_S,
            wait_jitter=_WAIT_JITTER_S,
        ):
            with attempt:
                attempts = attempt.num
                await _attempt(channel, transition)
    except DeliveryError as exc:
        log.warning(
            "notification_failed",
            channel=channel.name,
            rule=transition.rule,
            state=transition.state.value,
            history_id=transition.id,
            attempts=attempts,
            retriable=exc.retriable,
            reason=str(exc),
        )
        return False
    except Exception as exc:
        # A bug in a channel: keep the worker alive for the next notification.
        log.error(
            "notification_crashed",
            channel=channel.name,
            rule=transition.rule,
            error=type(exc).__name__,
        )
        return False

    log.info(
        "notification_sent",
        channel=channel.name,
        rule=transition.rule,
        state=transition.state.value,
        history_id=transition.id,
        attempts=attempts,
    )
    return True


async def _attempt(channel: Channel, transition: Transition) -> None:
    limit = channel.settings.timeout.total_seconds()
    try:
        async with asyncio.timeout(limit):
            await channel.send(transition)
    except TimeoutError:
        raise DeliveryError(
            f"{channel.name}: no answer within {limit:g} s", retriable=True
        ) from None


def _retry_on(exc: Exception) -> bool | float:
    # A receiver's Retry-After replaces the computed backoff.
    if not isinstance(exc, DeliveryError) or not exc.retriable:
        return False
    if exc.retry_after is not None:
        return min(exc.retry_after, _WAIT_MAX_S)
    return True
