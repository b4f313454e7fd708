"""What a notification says: a JSON document and a one-line summary.

Both hold rule, group, state and figures only: never message text or secrets.
"""

from __future__ import annotations

import json
from typing import Any

from supportpulse.alerts.durations import format_duration
from supportpulse.alerts.transition import Transition

#: Version of the JSON document; bumped when a field changes meaning.
PAYLOAD_VERSION = 1


def payload(transition: Transition) -> dict[str, Any]:
    """The JSON document webhooks receive and emails carry."""
    return {
        "version": PAYLOAD_VERSION,
        "id": transition.id,
        "rule": transition.rule,
        "group": dict(transition.group),
        "state": transition.state.value,
        "previous": transition.previous.value,
        "severity": transition.severity,
        "at": transition.at.isoformat(timespec="seconds") + "Z",
        "kpi": transition.kpi,
        "value": transition.value,
        "op": transition.op,
        "threshold": transition.threshold,
        "clear_threshold": transition.clear_threshold,
        "window_s": transition.window.total_seconds(),
        "error": transition.error,
        "summary": summary(transition),
    }


def body(transition: Transition) -> bytes:
    """The payload as compact JSON bytes, the exact bytes a signature covers."""
    return json.dumps(
        payload(transition), separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode()


def summary(transition: Transition) -> str:
    """One line a person reads first: what, where, how much, against what."""
    where = describe_group(transition.group)
    value = "no data" if transition.value is None else f"{transition.value:.6g}"
    line = (
        f"[{transition.severity}] {transition.rule} is {transition.state.value}"
        f"{where}: {transition.kpi} = {value} "
        f"(fires when {transition.op} {transition.threshold:.6g}, "
        f"over the last {format_duration(transition.window)})"
    )
    if transition.error:
        line += f"; error: {transition.error}"
    return line


def subject(transition: Transition) -> str:
    """An email subject: state first, so inboxes sort by what matters."""
    where = describe_group(transition.group)
    return f"{transition.state.value.upper()} {transition.rule}{where}"


def describe_group(group: Any) -> str:
    """The group as " for team=acme, channel=email", or "" for all data."""
    if not group:
        return ""
    parts = ", ".join(
        f"{name}={'(none)' if value is None else value}"
        for name, value in sorted(dict(group).items())
    )
    return f" for {parts}"
