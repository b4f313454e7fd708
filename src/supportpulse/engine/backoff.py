"""How long a failing source waits: full-jitter backoff and a circuit breaker."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


def full_jitter(attempt: int, base_s: float, cap_s: float) -> float:
    """A random wait in [0, min(cap, base * 2^attempt)] seconds.

    Full jitter spreads retries of many clients evenly instead of letting
    them return together (AWS Architecture Blog, "Exponential Backoff And
    Jitter", 2015).
    """
    return random.uniform(0.0, min(cap_s, base_s * 2.0 ** min(attempt, 30)))


@dataclass
class CircuitBreaker:
    """Stops calling a source after repeated failures, then probes it again.

    Closed: calls flow. After `threshold` failures in a row it opens for
    `open_for`; the first call after that is a probe (half open) whose result
    closes or re-opens it.
    """

    threshold: int
    open_for: timedelta
    failures: int = 0
    opened_at: datetime | None = None

    def allows(self, now: datetime) -> bool:
        """Whether a call may go out now."""
        return self.opened_at is None or now - self.opened_at >= self.open_for

    def wait_s(self, now: datetime) -> float:
        """Seconds until the next probe is allowed."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, (self.opened_at + self.open_for - now).total_seconds())

    def succeeded(self) -> None:
        """A call worked: close the circuit."""
        self.failures = 0
        self.opened_at = None

    def failed(self, now: datetime) -> bool:
        """A call failed; return True when this opened (or re-opened) the circuit."""
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = now
            return True
        return False

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None
