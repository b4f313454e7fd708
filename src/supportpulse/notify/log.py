"""The log channel: each notified transition as one structured log line."""

from __future__ import annotations

import structlog

from supportpulse.alerts.state import State
from supportpulse.alerts.transition import Transition
from supportpulse.notify.base import Channel
from supportpulse.notify.settings import LogChannelSettings

log = structlog.get_logger("supportpulse.notify")


class LogChannel(Channel):
    """Writes `alert_notification` at WARNING for firing, INFO otherwise."""

    def __init__(self, settings: LogChannelSettings) -> None:
        super().__init__(settings)

    async def send(self, transition: Transition) -> None:
        """Log the transition's figures; this cannot fail."""
        emit = log.warning if transition.state is State.FIRING else log.info
        emit(
            "alert_notification",
            channel=self.name,
            rule=transition.rule,
            group=transition.group_key,
            state=transition.state.value,
            previous=transition.previous.value,
            severity=transition.severity,
            kpi=transition.kpi,
            value=transition.value,
            threshold=transition.threshold,
            history_id=transition.id,
        )
