"""The Notifier: fan-out, severity floors, bounded queues, slow and broken channels."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from supportpulse.alerts.rules import AlertSettings
from supportpulse.alerts.transition import Transition
from supportpulse.notify.base import Channel
from supportpulse.notify.email import EmailChannel
from supportpulse.notify.log import LogChannel
from supportpulse.notify.notifier import Notifier
from supportpulse.notify.settings import LogChannelSettings, WebhookChannelSettings
from supportpulse.notify.slack import SlackChannel
from supportpulse.notify.webhook import WebhookChannel

from .samples import SECRET, transition, webhook
from .servers import http_receiver


class Held(Channel):
    """A channel whose deliveries wait until the test lets them through."""

    def __init__(self, name: str = "held") -> None:
        super().__init__(LogChannelSettings(name=name))
        self.gate = asyncio.Event()
        self.sent: list[int | None] = []

    async def send(self, transition: Transition) -> None:
        await self.gate.wait()
        self.sent.append(transition.id)


class Broken(Channel):
    """A channel with a bug on its first delivery."""

    def __init__(self) -> None:
        super().__init__(LogChannelSettings(name="broken"))
        self.sent: list[int | None] = []

    async def send(self, transition: Transition) -> None:
        if not self.sent:
            self.sent.append(None)
            raise KeyError("bug")
        self.sent.append(transition.id)


def hook(url: str, **overrides: Any) -> WebhookChannel:
    return WebhookChannel(
        WebhookChannelSettings.model_validate(webhook(url, **overrides))
    )


def test_notifier_fans_out_to_every_channel() -> None:
    async def run() -> None:
        with http_receiver(secret=SECRET.encode()) as one, http_receiver() as two:
            async with Notifier(
                [hook(one.url, name="one"), hook(two.url, name="two")]
            ) as notifier:
                notifier.notify(transition())
                await notifier.join()
            assert len(one.requests) == len(two.requests) == 1
            assert one.requests[0].signature_ok

    asyncio.run(run())


def test_notifier_skips_transitions_that_are_not_news() -> None:
    async def run() -> list[int | None]:
        held = Held()
        held.gate.set()
        async with Notifier([held]) as notifier:
            notifier.notify(transition(notify=False, suppressed="silenced", id=1))
            notifier.notify(transition(notify=False, id=2))
            notifier.notify(transition(id=3))
            await notifier.join()
        return held.sent

    assert asyncio.run(run()) == [3]


def test_notifier_respects_each_channels_severity_floor() -> None:
    async def run() -> tuple[list[int | None], list[int | None]]:
        everything, urgent = Held("all"), Held("urgent")
        urgent.settings = LogChannelSettings(name="urgent", min_severity="critical")
        everything.gate.set()
        urgent.gate.set()
        async with Notifier([everything, urgent]) as notifier:
            notifier.notify(transition(id=1, severity="info"))
            notifier.notify(transition(id=2, severity="critical"))
            notifier.notify(transition(id=3, severity="warning"))
            await notifier.join()
        return everything.sent, urgent.sent

    assert asyncio.run(run()) == ([1, 2, 3], [2])


def test_full_queue_drops_the_oldest_with_a_warning() -> None:
    async def run() -> list[int | None]:
        held = Held()
        async with Notifier([held], queue_size=2) as notifier:
            for number in range(1, 5):
                notifier.notify(transition(id=number))
            held.gate.set()
            await notifier.join()
        return held.sent

    with capture_logs() as logs:
        sent = asyncio.run(run())

    assert sent == [3, 4]
    drops = [entry for entry in logs if entry["event"] == "notification_dropped"]
    assert [(d["log_level"], d["history_id"], d["queue_size"]) for d in drops] == [
        ("warning", 1, 2),
        ("warning", 2, 2),
    ]


def test_hanging_channel_blocks_neither_caller_nor_other_channels() -> None:
    async def run() -> None:
        with http_receiver(hang=True) as stuck, http_receiver() as fine:
            slow = hook(stuck.url, name="stuck", timeout=timedelta(seconds=15))
            async with Notifier([slow, hook(fine.url, name="fine")]) as notifier:
                notifier.notify(transition(id=1))
                notifier.notify(transition(id=2))
                # The hung request is still open while the other channel delivers.
                await fine.arrived(2)
                await stuck.arrived(1)
                assert len(fine.requests) == 2
                assert len(stuck.requests) == 1
                stuck.released.set()
                await notifier.aclose(grace=0)

    asyncio.run(run())


def test_timed_out_delivery_is_retried_then_reported() -> None:
    async def run() -> None:
        with http_receiver(hang=True) as stuck:
            slow = hook(stuck.url, timeout=timedelta(milliseconds=100), attempts=2)
            async with Notifier([slow]) as notifier:
                notifier.notify(transition())
                await notifier.join()
            assert len(stuck.requests) == 2

    with capture_logs() as logs:
        asyncio.run(run())

    (failed,) = [e for e in logs if e["event"] == "notification_failed"]
    assert failed["log_level"] == "warning"
    assert failed["attempts"] == 2
    assert failed["reason"] == "webhook: no answer within 0.1 s"
    retries = [e for e in logs if e["event"] == "stamina.retry_scheduled"]
    assert [e["log_level"] for e in retries] == ["warning"]


def test_a_bug_in_a_channel_is_logged_and_the_worker_goes_on() -> None:
    async def run() -> list[int | None]:
        broken = Broken()
        async with Notifier([broken]) as notifier:
            notifier.notify(transition(id=1))
            notifier.notify(transition(id=2))
            await notifier.join()
        return broken.sent

    with capture_logs() as logs:
        sent = asyncio.run(run())

    assert sent == [None, 2]
    crashed = [e for e in logs if e["event"] == "notification_crashed"]
    assert [(e["log_level"], e["error"]) for e in crashed] == [("error", "KeyError")]


def test_notify_from_another_thread_reaches_the_loop() -> None:
    async def run() -> list[int | None]:
        held = Held()
        held.gate.set()
        async with Notifier([held]) as notifier:
            worker = threading.Thread(target=notifier.notify, args=(transition(id=9),))
            worker.start()
            await asyncio.to_thread(worker.join)
            while not held.sent:
                await asyncio.sleep(0)
            await notifier.join()
        return held.sent

    assert asyncio.run(run()) == [9]


def test_notify_before_start_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="before start"):
        Notifier([LogChannel(LogChannelSettings())]).notify(transition())


def test_aclose_gives_up_on_deliveries_after_the_grace() -> None:
    async def run() -> list[int | None]:
        held = Held()
        notifier = Notifier([held])
        await notifier.start()
        notifier.notify(transition())
        await notifier.aclose(grace=0)
        return held.sent

    assert asyncio.run(run()) == []


def test_log_channel_writes_the_transition() -> None:
    async def run() -> None:
        async with Notifier([LogChannel(LogChannelSettings())]) as notifier:
            notifier.notify(transition())
            await notifier.join()

    with capture_logs() as logs:
        asyncio.run(run())

    (entry,) = [e for e in logs if e["event"] == "alert_notification"]
    assert entry["log_level"] == "warning"
    assert (entry["rule"], entry["state"], entry["value"]) == ("frt", "firing", 4210.0)
    assert entry["group"] == '{"team":"billing"}'


def test_from_settings_builds_one_channel_per_entry() -> None:
    settings = AlertSettings.model_validate(
        {
            "notifications": [
                {"type": "log"},
                webhook("http://127.0.0.1:9/h"),
                {"type": "slack", "url": "http://127.0.0.1:9/s"},
                {
                    "type": "email",
                    "host": "127.0.0.1",
                    "sender": "a@example.org",
                    "recipients": ["b@example.org"],
                },
            ]
        }
    )

    notifier = Notifier.from_settings(settings)
    asyncio.run(notifier.aclose())

    assert [type(c) for c in notifier.channels] == [
        LogChannel,
        WebhookChannel,
        SlackChannel,
        EmailChannel,
    ]
    assert [c.name for c in notifier.channels] == ["log", "webhook", "slack", "email"]
