"""What each dashboard panel shows, worked out from API documents.

Pure functions: no Streamlit, no HTTP. The app calls the API through the
client, hands the documents here, and draws what comes back, so every figure
on screen can be tested against the API's own numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import yaml

Document = dict[str, Any]
Format = Literal["count", "duration", "percent", "score", "signed"]


@dataclass(frozen=True)
class Window:
    """A trailing time window the dashboard can show, and its trend bucket."""

    key: str
    label: str
    length: timedelta | None
    bucket: str


WINDOWS: tuple[Window, ...] = (
    Window("1h", "Last hour", timedelta(hours=1), "minute"),
    Window("24h", "Last 24 hours", timedelta(hours=24), "hour"),
    Window("7d", "Last 7 days", timedelta(days=7), "hour"),
    Window("30d", "Last 30 days", timedelta(days=30), "day"),
    Window("all", "All time", None, "day"),
)
DEFAULT_WINDOW = "24h"
#: Auto-refresh choices: label and seconds (None is off).
REFRESH: dict[str, int | None] = {"Off": None, "5 s": 5, "30 s": 30, "60 s": 60}
BREAKDOWNS = ("team", "agent", "channel", "priority")


def window_of(key: str | None) -> Window:
    """The window called `key`, or the default for an unknown one."""
    found = {window.key: window for window in WINDOWS}
    return found.get(key or "", found[DEFAULT_WINDOW])


@dataclass(frozen=True)
class Bounds:
    """The shown window and the one of equal length just before it."""

    since: str | None
    until: str
    previous_since: str | None
    previous_until: str | None


def bounds(window: Window, now: datetime) -> Bounds:
    """ISO bounds for `window` ending at `now` (naive UTC)."""
    until = now.replace(microsecond=0)
    if window.length is None:
        return Bounds(None, _iso(until), None, None)
    since = until - window.length
    return Bounds(_iso(since), _iso(until), _iso(since - window.length), _iso(since))


# -- KPI tiles ------------------------------------------------------------


@dataclass(frozen=True)
class TileSpec:
    """Which KPI a tile shows, how, and whether a rise is good news."""

    label: str
    path: str
    format: Format
    rise_is_good: bool | None


TILES: tuple[TileSpec, ...] = (
    TileSpec("Volume", "tickets", "count", None),
    TileSpec("Backlog", "backlog", "count", False),
    TileSpec("First response p50", "first_response.p50_s", "duration", False),
    TileSpec("First response p90", "first_response.p90_s", "duration", False),
    TileSpec("Resolution p50", "resolution.p50_s", "duration", False),
    TileSpec("SLA breach rate", "sla.rate", "percent", False),
    TileSpec("CSAT", "csat.mean", "score", True),
    TileSpec("Sentiment", "sentiment.mean", "signed", True),
)


@dataclass(frozen=True)
class Tile:
    """One KPI tile: its text, its change against the previous window."""

    label: str
    value: str
    delta: str | None
    delta_color: Literal["normal", "inverse", "off"]
    raw: float | None


def whole(document: Document) -> Document:
    """The ungrouped figures of a `kpis` document (empty when it has none)."""
    for group in document.get("groups", []):
        if not group.get("key"):
            return dict(group)
    return {}


def figure(group: Document, path: str) -> float | None:
    """The value at a dotted KPI path of one group, or None."""
    node: Any = group
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return float(node)


def tiles(current: Document, previous: Document | None) -> list[Tile]:
    """Every KPI tile for the current window, with its change when known."""
    now_group, then_group = whole(current), whole(previous) if previous else None
    shown = []
    for spec in TILES:
        value = figure(now_group, spec.path)
        if spec.format == "count" and value is None:
            value = 0.0
        before = figure(then_group, spec.path) if then_group is not None else None
        if spec.format == "count" and before is None and then_group is not None:
            before = 0.0
        delta = None
        if value is not None and before is not None:
            delta = format_change(value - before, spec.format)
        colour: Literal["normal", "inverse", "off"] = (
            "off" if spec.rise_is_good is None else
            "normal" if spec.rise_is_good else "inverse"
        )  # fmt: skip
        shown.append(
            Tile(spec.label, format_value(value, spec.format), delta, colour, value)
        )
    return shown


def format_value(value: float | None, kind: Format) -> str:
    """A KPI value as a tile shows it; an em dash when there is none."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "duration":
        return format_duration(value)
    if kind == "percent":
        return f"{value * 100:.1f} %"
    if kind == "score":
        return f"{value:.2f}"
    return f"{value:+.2f}"


def format_change(change: float, kind: Format) -> str:
    """A signed change as the tile's delta; Streamlit colours it by its sign."""
    sign = "-" if change < 0 else "+"
    size = abs(change)
    if kind == "count":
        return f"{sign}{round(size):,}"
    if kind == "duration":
        return f"{sign}{format_duration(size)}"
    if kind == "percent":
        return f"{sign}{size * 100:.1f} pp"
    return f"{sign}{size:.2f}"


def format_duration(seconds: float) -> str:
    """Seconds in the unit a person reads best: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


# -- trends and breakdowns ------------------------------------------------


def trend_rows(series: Document) -> list[dict[str, Any]]:
    """One row per bucket: volume, backlog and response times in minutes."""
    rows: list[dict[str, Any]] = []
    for point in series.get("points", []):
        group = point.get("kpis", {})
        rows.append({
            "time": _parse_iso(point["start"]),
            "tickets": figure(group, "tickets") or 0,
            "messages": figure(group, "messages") or 0,
            "backlog": figure(group, "backlog") or 0,
            "first response p50 (min)": _minutes(figure(group, "first_response.p50_s")),
            "first response p90 (min)": _minutes(figure(group, "first_response.p90_s")),
            "SLA breach rate (%)": _percent(figure(group, "sla.rate")),
        })  # fmt: skip
    return rows


def breakdown_rows(document: Document, dimension: str) -> list[dict[str, Any]]:
    """One row per value of `dimension`, busiest first."""
    rows: list[dict[str, Any]] = []
    for group in document.get("groups", []):
        name = group.get("key", {}).get(dimension)
        rows.append({
            dimension: "(none)" if name is None else str(name),
            "tickets": int(figure(group, "tickets") or 0),
            "backlog": int(figure(group, "backlog") or 0),
            "FRT p50": format_value(figure(group, "first_response.p50_s"), "duration"),
            "FRT p90": format_value(figure(group, "first_response.p90_s"), "duration"),
            "resolution p50": format_value(figure(group, "resolution.p50_s"), "duration"),
            "SLA breach": format_value(figure(group, "sla.rate"), "percent"),
            "CSAT": format_value(figure(group, "csat.mean"), "score"),
            "sentiment": format_value(figure(group, "sentiment.mean"), "signed"),
        })  # fmt: skip
    rows.sort(key=lambda row: (-row["tickets"], row[dimension]))
    return rows


def filter_values(document: Document, dimension: str) -> list[str]:
    """The values of `dimension` a filter can choose, from a grouped document."""
    values = {
        str(group["key"][dimension])
        for group in document.get("groups", [])
        if group.get("key", {}).get(dimension) is not None
    }
    return sorted(values)


# -- sources --------------------------------------------------------------

#: Text colours of source and alert states: green is well, amber and orange
#: need a look, red needs action. A dot leads the state so it reads at a glance
#: without colour too, in a font every system has (no emoji).
GREEN, AMBER, ORANGE, RED, BLUE, GREY = (
    "#1a7f37", "#9a6700", "#bc4c00", "#cf222e", "#0969da", "#6e7781"
)  # fmt: skip
BADGE = "● "
STATE_COLOURS = {
    "live": GREEN,
    "degraded": AMBER,
    "backing off": ORANGE,
    "failed": RED,
    "paused": GREY,
    "starting": BLUE,
    "stopped": GREY,
    "firing": RED,
    "pending": AMBER,
    "error": ORANGE,
    "no data": GREY,
    "no_data": GREY,
    "resolved": GREEN,
    "ok": GREEN,
}


def badge(state: object) -> str:
    """A state as the status tables show it: "● live"."""
    return f"{BADGE}{state}"


def badge_style(text: object) -> str:
    """CSS for a badge cell: the state's colour, bold."""
    state = str(text).removeprefix(BADGE)
    colour = STATE_COLOURS.get(state)
    return f"color: {colour}; font-weight: 600" if colour else ""


def source_rows(sources: list[Document]) -> list[dict[str, Any]]:
    """One status row per source, state as a coloured badge."""
    return [
        {
            "source": source.get("name"),
            "type": source.get("type"),
            "state": badge(source.get("state")),
            "last update": source.get("last_success") or "—",
            "lag": format_lag(source.get("lag_s")),
            "records": source.get("records", 0),
            "per second": source.get("rate_per_s", 0.0),
            "last error": source.get("last_error") or "",
        }
        for source in sources
    ]


def format_lag(seconds: float | None) -> str:
    """How far behind a source's newest record is."""
    if seconds is None:
        return "—"
    return format_duration(max(0.0, float(seconds)))


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class FormError(ValueError):
    """A source form entry that cannot be sent; the message says which field."""


def source_document(
    name: str,
    type_name: str,
    interval: str,
    options_text: str,
    secret_name: str = "",
    secret_value: str = "",
) -> Document:
    """A SourceSettings document from the add-source form, checked before sending.

    The API validates again and names the dotted key of any remaining problem.
    """
    name, type_name = name.strip(), type_name.strip()
    if not _NAME.match(name):
        raise FormError(
            "name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    if not type_name:
        raise FormError("type: choose a source type")
    try:
        options = yaml.safe_load(options_text) if options_text.strip() else {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise FormError(f"options: not valid YAML{line}") from None
    if not isinstance(options, dict):
        raise FormError("options: write a mapping of option: value, one per line")
    if secret_name.strip():
        _set_dotted(options, secret_name.strip(), secret_value)
    document: Document = {"name": name, "type": type_name, "options": options}
    if interval.strip():
        document["interval"] = interval.strip()
    return document


def _set_dotted(options: Document, dotted: str, value: str) -> None:
    """Set `headers.Authorization`-style keys inside nested option mappings."""
    *parents, leaf = dotted.split(".")
    node = options
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FormError(f"secret option name: '{part}' is not a mapping of options")
        node = child
    node[leaf] = value


# -- alerts ---------------------------------------------------------------

ALERT_ORDER = {
    "firing": 0,
    "pending": 1,
    "error": 2,
    "no data": 3,
    "resolved": 4,
    "ok": 5,
}


def alert_rows(alerts: list[Document]) -> list[dict[str, Any]]:
    """Alert states, the ones needing attention first."""
    rows: list[dict[str, Any]] = [
        {
            "rule": alert.get("rule"),
            "group": group_text(alert.get("group")),
            "state": badge(alert.get("state")),
            "value": _number(alert.get("value")),
            "since": alert.get("since") or "—",
            "acknowledged": "yes" if alert.get("acknowledged_at") else "",
            "silenced until": alert.get("silenced_until") or "",
            "_state": str(alert.get("state")),
        }
        for alert in alerts
    ]
    rows.sort(
        key=lambda row: (ALERT_ORDER.get(str(row["_state"]), 9), str(row["rule"]))
    )
    return rows


def unacknowledged_firing(alerts: list[Document]) -> list[tuple[str, Document]]:
    """(rule, group) of every firing alert nobody has acknowledged yet."""
    return sorted(
        (
            (str(alert["rule"]), dict(alert.get("group") or {}))
            for alert in alerts
            if alert.get("state") == "firing" and not alert.get("acknowledged_at")
        ),
        key=lambda pair: (pair[0], group_text(pair[1])),
    )


def group_text(group: Any) -> str:
    """An alert group as text: "all", or "team=billing, channel=chat"."""
    if not group:
        return "all"
    if isinstance(group, dict):
        return ", ".join(f"{name}={value}" for name, value in sorted(group.items()))
    return str(group)


# -- helpers --------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z"))


def _number(value: Any) -> str:
    return "—" if value is None else f"{float(value):.4g}"


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


# -- uploads --------------------------------------------------------------


def ingest_text(report: Document) -> str:
    """One sentence on what an uploaded file gave."""
    counts = ", ".join(
        plural(int(report.get(name, 0)), name.removesuffix("s"))
        for name in ("tickets", "messages")
    )
    rows = plural(int(report.get("rows", 0)), "row")
    quarantined = int(report.get("quarantined", 0))
    return (
        f"{report.get('file', 'file')}: {rows} -> {counts}, {quarantined} quarantined"
    )


def plural(count: int, noun: str) -> str:
    """ "1 row", "2 rows"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def quarantine_rows(quarantine: list[Document]) -> list[dict[str, Any]]:
    """The quarantine report: line and reason of each row set aside."""
    return [
        {"line": row.get("line"), "reason": row.get("reason")} for row in quarantine
    ]
