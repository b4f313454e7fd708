"""Human-readable output: the KPI table and the ingest summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from supportpulse.ingest.pipeline import IngestSummary


def duration(seconds: float | None) -> str:
    """Seconds as a short human duration: 45s, 13m 53s, 4h 02m, 3d 4h."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def kpi_table(document: dict[str, Any], console: Console) -> None:
    """Print one row per group with the figures a support lead scans first."""
    groups = document["groups"]
    window = document["window"]
    title = f"KPIs from {window['since'] or 'the start'} to {window['until']}"
    if not groups:
        console.print(f"{title}: no tickets or messages in this window.")
        return

    table = Table(title=title, title_justify="left")
    key_names = list(groups[0]["key"])
    for name in key_names:
        table.add_column(name)
    for name in (
        "tickets",
        "messages",
        "backlog",
        "FRT p50",
        "FRT p90",
        "reply p50",
        "reply p90",
        "resolution p50",
        "SLA breach",
        "sentiment",
        "CSAT",
    ):
        table.add_column(name, justify="right")

    for group in groups:
        key = [
            ("(none)" if value is None else str(value))
            for value in group["key"].values()
        ]
        table.add_row(
            *key,
            str(group["tickets"]),
            str(group["messages"]),
            str(group["backlog"]),
            duration(group["first_response"]["p50_s"]),
            duration(group["first_response"]["p90_s"]),
            duration(group["reply_time"]["p50_s"]),
            duration(group["reply_time"]["p90_s"]),
            duration(group["resolution"]["p50_s"]),
            _share(group["sla"]["rate"]),
            _number(group["sentiment"]["mean"]),
            _number(group["csat"]["mean"]),
        )
    console.print(table)


def ingest_line(summary: IngestSummary) -> str:
    """One line per file: what it was, what it gave, what was set aside."""
    line = (
        f"{summary.file}: {summary.layout} file, source '{summary.source}': "
        f"{summary.rows} rows -> {summary.tickets} tickets, {summary.messages} messages, "
        f"{summary.quarantined} quarantined ({summary.seconds:.2f} s)"
    )
    if summary.reasons:
        reasons = ", ".join(
            f"{count} {reason}" for reason, count in summary.reasons.items()
        )
        line += f"\n  quarantined: {reasons}; list them with `supportpulse quarantine`"
    return line
