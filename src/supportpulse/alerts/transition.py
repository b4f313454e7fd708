"""A change of state of one (rule, group), with the figures that caused it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from supportpulse.alerts.rules import Severity
from supportpulse.alerts.state import State

Suppression = Literal["acknowledged", "silenced"]


def group_key(group: Mapping[str, Any]) -> str:
    """A group's key as canonical JSON text: sorted keys, no spaces."""
    return json.dumps(
        dict(group), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change, as recorded in history and handed to the Notifier.

    `notify` says whether receivers should hear of it: a firing episode
    started or resolved, and neither an acknowledgement nor a silence
    (`suppressed` names which) holds it back.
    """

    rule: str
    group: Mapping[str, Any]
    previous: State
    state: State
    at: datetime
    value: float | None
    kpi: str
    op: str
    threshold: float
    clear_threshold: float
    window: timedelta
    severity: Severity
    notify: bool = False
    suppressed: Suppression | None = None
    error: str | None = None
    #: The history row's id once stored; receivers can use it to deduplicate.
    id: int | None = None

    @property
    def group_key(self) -> str:
        """The group as canonical JSON text, as stored."""
        return group_key(self.group)
