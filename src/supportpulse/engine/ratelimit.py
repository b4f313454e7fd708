"""Request pacing: token buckets that vendor headers steer, shared per account.

A vendor limits an account, not a source: two sources reading one Zendesk
account through one credential spend the same per-minute budget. The
`AccountLimits` registry hands every source of one account (vendor, host,
credential identity) the same bucket per named limit, so together they stay
under it.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
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

    def set_per_minute(self, limit: float) -> None:
        """Pace at `limit` requests a minute, with bursts of ten seconds' worth."""
        if limit <= 0:
            return
        self.rate = limit / 60.0
        self.capacity = max(1.0, self.rate * 10)
        self._tokens = min(self._tokens, self.capacity)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow the vendor's stated limit, and pause until its window resets
        when it reports none left."""
        lowered = {name.lower(): value for name, value in headers.items()}
        # Zendesk states the account's per-minute limit on every reply.
        per_minute = _number(lowered.get("x-rate-limit"))
        if per_minute is not None and per_minute / 60.0 != self.rate:
            self.set_per_minute(per_minute)
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


@dataclass(frozen=True)
class AccountKey:
    """One vendor account as seen through one credential.

    The credential is kept only as a short digest: enough to tell two
    accounts apart, useless to anyone reading a log or a debugger.
    """

    vendor: str
    host: str
    identity: str

    @classmethod
    def of(cls, vendor: str, host: str, credential: str) -> AccountKey:
        """The key of `credential` on `host`, digesting the credential."""
        digest = hashlib.sha256(credential.encode()).hexdigest()[:16]
        return cls(vendor, host.lower(), digest)


class AccountLimits:
    """Token buckets shared by every source of one account, per named limit
    (e.g. "account" for the plan's limit, "export" for an endpoint's own)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[AccountKey, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, key: AccountKey, limit: str, per_minute: float) -> TokenBucket:
        """The shared bucket of `limit` on the account; the first source to
        ask sets its rate, and the vendor's headers correct it later."""
        with self._lock:
            found = self._buckets.get((key, limit))
            if found is None:
                found = TokenBucket(per_minute / 60.0)
                found.set_per_minute(per_minute)
                self._buckets[(key, limit)] = found
            return found

    def __len__(self) -> int:
        return len(self._buckets)


#: The registry every source of this process shares.
ACCOUNTS = AccountLimits()


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
