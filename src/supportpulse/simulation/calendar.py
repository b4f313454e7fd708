"""When customers write: arrival rates by hour of day and day of week.

The shape follows what help desks see: a quiet night, a morning ramp, a peak
in the early afternoon, and weekends at about half a weekday's volume.
"""

from __future__ import annotations

from datetime import datetime

#: Relative arrival rate for each local hour 0..23 (1.0 is the daily mean).
HOUR_PROFILE: tuple[float, ...] = (
    0.25, 0.18, 0.14, 0.12, 0.14, 0.22, 0.40, 0.70,
    1.10, 1.50, 1.70, 1.75, 1.65, 1.75, 1.85, 1.75,
    1.55, 1.35, 1.15, 0.95, 0.80, 0.65, 0.50, 0.35,
)  # fmt: skip

#: Relative arrival rate for Monday..Sunday.
WEEKDAY_PROFILE: tuple[float, ...] = (1.25, 1.15, 1.1, 1.05, 1.0, 0.55, 0.45)

#: Agents are on shift 08:00-20:00 local time on weekdays.
SHIFT_HOURS = range(8, 20)


def arrival_rate(local: datetime, per_hour: float) -> float:
    """Expected tickets in the local hour starting at `local`."""
    return per_hour * HOUR_PROFILE[local.hour] * WEEKDAY_PROFILE[local.weekday()]


def staffed(local: datetime) -> bool:
    """Whether a full shift of agents is working at `local`."""
    return local.weekday() < 5 and local.hour in SHIFT_HOURS
