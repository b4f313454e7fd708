"""Running the KPI query and shaping its rows into the documented JSON groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from supportpulse.analytics.reply_facts import refresh_reply_facts
from supportpulse.analytics.sql import filter_param, kpi_sql
from supportpulse.config import SLASettings
from supportpulse.store import Store

#: The earliest instant a window can start; before any real support data.
_BEGINNING = datetime(1, 1, 1)


@dataclass(frozen=True)
class KPIQuery:
    """Which window to compute, split by which dimensions and time bucket,
    over the tickets whose dimensions equal the `filters` values."""

    since: datetime | None = None
    until: datetime | None = None
    by: tuple[str, ...] = ()
    bucket: str | None = None
    filters: tuple[tuple[str, str], ...] = ()


def compute_kpis(
    store: Store, query: KPIQuery, sla: SLASettings, now: datetime | None = None
) -> dict[str, Any]:
    """Every KPI per group, as the JSON document `supportpulse kpis --json` prints."""
    evaluated_at = query.until or now or datetime.now(UTC).replace(tzinfo=None)
    params: dict[str, Any] = {"since": query.since or _BEGINNING, "until": evaluated_at}
    params.update({filter_param(name): value for name, value in query.filters})
    filtered = tuple(name for name, _ in query.filters)
    refresh_reply_facts(store)
    names, rows = store.fetch(
        kpi_sql(query.by, query.bucket, sla, filtered, store.dialect), params
    )

    groups = [_group(dict(zip(names, row, strict=True)), query) for row in rows]
    groups.sort(key=lambda group: _sort_key(group["key"]))
    return {
        "window": {
            "since": _iso(query.since),
            "until": _iso(evaluated_at),
        },
        "groups": groups,
    }


def _stat(row: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "count": int(row[f"{name}_count"]),
        "p50_s": row[f"{name}_p50"],
        "p90_s": row[f"{name}_p90"],
        "mean_s": row[f"{name}_mean"],
    }


def _group(row: dict[str, Any], query: KPIQuery) -> dict[str, Any]:
    key: dict[str, Any] = {name: row[f"d_{name}"] for name in query.by}
    if query.bucket:
        key["bucket"] = _iso(row["b"])

    due, breached = int(row["sla_due"]), int(row["sla_breached"])
    return {
        "key": key,
        "tickets": int(row["tickets"]),
        "messages": int(row["messages"]),
        "backlog": int(row["backlog"]),
        "first_response": _stat(row, "first_response"),
        "reply_time": _stat(row, "reply_time"),
        "resolution": _stat(row, "resolution"),
        "sla": {
            "due": due,
            "breached": breached,
            "rate": breached / due if due else None,
        },
        "sentiment": {
            "mean": row["sentiment_mean"],
            "negative_share": row["sentiment_negative_share"],
        },
        "csat": {"count": int(row["csat_count"]), "mean": row["csat_mean"]},
    }


def _sort_key(key: dict[str, Any]) -> tuple[tuple[bool, str], ...]:
    # Code-point order with nulls last, the same on every engine and locale.
    return tuple(
        (value is None, "" if value is None else str(value)) for value in key.values()
    )


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
