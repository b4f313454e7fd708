"""Alert rules as the config file states them, and the `alerts:` settings section.

A rule watches one KPI of `compute_kpis` (a dotted path into a group, such as
"first_response.p90_s") over a window ending at each evaluation, per group of
`by`. It fires when the value compares to `threshold` by `op` for at least
`for`, and resolves only when the value crosses back beyond `clear_threshold`
(the threshold itself by default), so a value hovering at the line never flaps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supportpulse.alerts.durations import Duration
from supportpulse.notify.settings import ChannelSettings, LogChannelSettings, Severity

__all__ = [
    "COUNT_KPIS",
    "KPI_PATHS",
    "AlertRule",
    "AlertSettings",
    "Dimension",
    "Op",
    "Severity",
    "default_rules",
]

Op = Literal[">", ">=", "<", "<="]
#: The ticket fields a rule may group by; the same as analytics.sql.DIMENSIONS.
Dimension = Literal["team", "agent", "channel", "priority", "category", "source"]

_STATS = ("first_response", "reply_time", "resolution")
#: Every KPI a rule can watch: the leaves of one group of `compute_kpis`.
KPI_PATHS: tuple[str, ...] = (
    "tickets",
    "messages",
    "backlog",
    *(
        f"{stat}.{leaf}"
        for stat in _STATS
        for leaf in ("count", "p50_s", "p90_s", "mean_s")
    ),
    "sla.due",
    "sla.breached",
    "sla.rate",
    "sentiment.mean",
    "sentiment.negative_share",
    "csat.count",
    "csat.mean",
)
#: KPIs that count things: a group with no rows has the value 0, not "no data".
COUNT_KPIS = frozenset(
    path
    for path in KPI_PATHS
    if path in ("tickets", "messages", "backlog", "sla.due", "sla.breached")
    or path.endswith(".count")
)

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class AlertRule(BaseModel):
    """One condition on one KPI, evaluated per group over a trailing window."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    name: str = Field(pattern=_NAME)
    kpi: str
    window: Duration = timedelta(hours=1)
    by: tuple[Dimension, ...] = ()
    op: Op
    threshold: float = Field(allow_inf_nan=False)
    for_: Duration = Field(default=timedelta(0), alias="for")
    severity: Severity = "warning"
    clear_threshold: float | None = Field(default=None, allow_inf_nan=False)

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, kpi: str) -> str:
        if kpi not in KPI_PATHS:
            raise ValueError(f"unknown KPI '{kpi}'; use one of {', '.join(KPI_PATHS)}")
        return kpi

    @field_validator("window")
    @classmethod
    def _positive_window(cls, window: timedelta) -> timedelta:
        if window <= timedelta(0):
            raise ValueError("window must be positive, like 1h")
        return window

    @field_validator("for_")
    @classmethod
    def _not_negative(cls, duration: timedelta) -> timedelta:
        if duration < timedelta(0):
            raise ValueError("'for' must not be negative")
        return duration

    @field_validator("by")
    @classmethod
    def _distinct(cls, by: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(by)) != len(by):
            raise ValueError("a dimension is repeated")
        return by

    @model_validator(mode="after")
    def _clear_on_the_safe_side(self) -> AlertRule:
        # Hysteresis only works when clearing asks for more than firing did.
        clear = self.clear_threshold
        if clear is not None and self.upward and clear > self.threshold:
            raise ValueError(
                f"clear_threshold {clear:g} must not be above threshold "
                f"{self.threshold:g} for op '{self.op}'"
            )
        if clear is not None and not self.upward and clear < self.threshold:
            raise ValueError(
                f"clear_threshold {clear:g} must not be below threshold "
                f"{self.threshold:g} for op '{self.op}'"
            )
        return self

    @property
    def upward(self) -> bool:
        """Whether the rule fires on high values (op > or >=)."""
        return self.op in (">", ">=")

    @property
    def clear_at(self) -> float:
        """The value a firing alert must cross back beyond to resolve."""
        return self.threshold if self.clear_threshold is None else self.clear_threshold


def default_rules() -> list[AlertRule]:
    """The rules used when the config names none: FRT, SLA and sentiment.

    Each clears only a margin past its threshold: over an hour of a small
    desk a few tickets move these figures across the line and back, and an
    alert that resolves and fires again each time is noise.
    """
    hour = timedelta(hours=1)
    return [
        AlertRule(
            name="first-response-p90",
            kpi="first_response.p90_s",
            window=hour,
            op=">",
            threshold=3600.0,
            clear_threshold=3000.0,
        ),
        AlertRule(
            name="sla-breach-rate",
            kpi="sla.rate",
            window=hour,
            op=">",
            threshold=0.10,
            clear_threshold=0.08,
        ),
        AlertRule(
            name="negative-sentiment",
            kpi="sentiment.mean",
            window=hour,
            op="<",
            threshold=-0.2,
            clear_threshold=-0.15,
        ),
    ]


def _default_channels() -> list[ChannelSettings]:
    return [LogChannelSettings()]


class AlertSettings(BaseModel):
    """The `alerts:` section: rules and where their notifications go.

    Without the section the default rules notify the log. An explicit empty
    `rules: []` turns alerting off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[AlertRule] = Field(default_factory=default_rules)
    notifications: list[ChannelSettings] = Field(default_factory=_default_channels)

    @field_validator("rules")
    @classmethod
    def _unique_rules(cls, rules: list[AlertRule]) -> list[AlertRule]:
        _no_repeats([rule.name for rule in rules], "rule")
        return rules

    @field_validator("notifications")
    @classmethod
    def _unique_channels(cls, channels: list[ChannelSettings]) -> list[ChannelSettings]:
        _no_repeats([channel.name for channel in channels], "channel")
        return channels

    def rule(self, name: str) -> AlertRule | None:
        """The rule called `name`, if configured."""
        return next((rule for rule in self.rules if rule.name == name), None)


def _no_repeats(names: list[str], what: str) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{what} name '{repeated[0]}' is used twice; name each one")
