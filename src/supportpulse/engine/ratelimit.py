"""Per-source request pacing: a token bucket that vendor headers can steer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class TokenBucket:
    """Allows `rate` requests per second with bursts up to `capacity`.

    A vendor that says how many requests are left and when its window resets
    (X-RateLimit-Remaining / -Reset, RateLimit-Remaining / -Reset) pauses the
    bucket until then once nothing is left, so the source never earns a 429.
    """

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._paused_until = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(
            self.capacity, self._tokens + (now - self._stamp) * self.rate
        )
        self._stamp = now

    def wait_s(self) -> float:
        """Seconds until a request may go out."""
        now = time.monotonic()
        self._refill(now)
        pause = max(0.0, self._paused_until - now)
        shortfall = max(0.0, 1.0 - self._tokens) / self.rate if self.rate > 0 else 0.0
        return max(pause, shortfall)

    async def acquire(self) -> None:
        """Wait for a token and take it."""
        while (wait := self.wait_s()) > 0:
            await asyncio.sleep(wait)
        self._tokens -= 1.0

    def pause_for(self, seconds: float) -> None:
        """Send nothing for `seconds` (Retry-After, an exhausted window)."""
        self._paused_until = max(
            self._paused_until, time.monotonic() + max(0.0, seconds)
        )

    def observe(self, headers: Mapping[str, str]) -> None:
        """Pause until the vendor's window resets when it reports none left."""
        lowered = {name.lower(): value for name, value in headers.items()}
        remaining = _number(
            lowered.get("x-ratelimit-remaining", lowered.get("ratelimit-remaining"))
        )
        reset = _number(
            lowered.get("x-ratelimit-reset", lowered.get("ratelimit-reset"))
        )
        if remaining is None or remaining > 0 or reset is None:
            return
        # Some vendors send the reset as epoch seconds, others as seconds to
        # wait; anything past a day from now can only be an epoch time.
        wait = reset - time.time() if reset > 86_400 else reset
        self.pause_for(wait)


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta seconds or an HTTP date
    (RFC 9110 section 10.2.3)."""
    if value is None or not value.strip():
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
