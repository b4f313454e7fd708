"""KPIs over a window, grouped or as a time series: `supportpulse kpis --json`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.analytics.sql import DIMENSIONS
from supportpulse.analytics.window import parse_moment
from supportpulse.service.auth import Viewer
from supportpulse.service.errors import ApiError, responses
from supportpulse.service.models import KPIDocument, KPISeries
from supportpulse.service.runtime import Runtime, ServiceRuntime

router = APIRouter(
    tags=["kpis"], responses=responses("invalid", "unauthorized", "forbidden")
)

Bucket = Literal["minute", "hour", "day"]
#: How many buckets one series may hold; a wider window needs a coarser bucket.
MAX_BUCKETS = 10_000
_BUCKET_S = {"minute": 60, "hour": 3600, "day": 86400}
_TEXT = Query(max_length=500)


class Window:
    """The window and filters every KPI route takes."""

    def __init__(
        self,
        since: Annotated[
            str | None,
            Query(max_length=100, description="ISO 8601 or an age like 24h, 7d."),
        ] = None,
        until: Annotated[
            str | None,
            Query(max_length=100, description="Exclusive end; default now."),
        ] = None,
        team: Annotated[str | None, _TEXT] = None,
        agent: Annotated[str | None, _TEXT] = None,
        channel: Annotated[str | None, _TEXT] = None,
        priority: Annotated[str | None, _TEXT] = None,
        category: Annotated[str | None, _TEXT] = None,
        source: Annotated[str | None, _TEXT] = None,
    ) -> None:
        self.since = since
        self.until = until
        given = {
            "team": team,
            "agent": agent,
            "channel": channel,
            "priority": priority,
            "category": category,
            "source": source,
        }
        self.filters = tuple((k, v) for k, v in given.items() if v is not None)

    def query(
        self, runtime: ServiceRuntime, by: tuple[str, ...], bucket: str | None
    ) -> KPIQuery:
        """The KPIQuery these parameters ask for; ApiError when they conflict."""
        settings = runtime.settings
        since = parse_moment(self.since, "since", settings)
        until = parse_moment(self.until, "until", settings)
        if since and until and since >= until:
            raise ApiError("invalid", "since must be earlier than until")
        return KPIQuery(since, until, by, bucket, self.filters)


def _dimensions(by: str | None) -> tuple[str, ...]:
    if not by:
        return ()
    names = tuple(name.strip().lower() for name in by.split(",") if name.strip())
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown:
        raise ApiError(
            "invalid",
            f"query key 'by': '{unknown[0]}' is not a dimension; "
            f"use {', '.join(DIMENSIONS)}",
        )
    if len(set(names)) != len(names):
        raise ApiError("invalid", "query key 'by': a dimension is repeated")
    return names


async def _compute(runtime: ServiceRuntime, query: KPIQuery) -> dict[str, Any]:
    engine = runtime.engine
    document: dict[str, Any] = await engine.query(
        compute_kpis, engine.store, query, runtime.settings.sla
    )
    return document


@router.get("/kpis", response_model=KPIDocument)
async def kpis(
    runtime: Runtime,
    _: Viewer,
    window: Annotated[Window, Depends()],
    by: Annotated[
        str | None,
        Query(max_length=200, description=f"DIM[,DIM]: {', '.join(DIMENSIONS)}."),
    ] = None,
    bucket: Bucket | None = None,
) -> JSONResponse:
    """Every KPI per group over the window, as `supportpulse kpis --json`."""
    query = window.query(runtime, _dimensions(by), bucket)
    # Returned as computed, keys in the CLI's order, without a second pass
    # through the response model.
    return JSONResponse(await _compute(runtime, query))


@router.get("/kpis/series", response_model=KPISeries)
async def kpi_series(
    runtime: Runtime,
    _: Viewer,
    window: Annotated[Window, Depends()],
    bucket: Bucket = "hour",
) -> dict[str, Any]:
    """Every KPI per time bucket over the window, oldest first."""
    query = window.query(runtime, (), bucket)
    if query.since is not None:
        # Without an end the window runs to now, as the KPIs are evaluated.
        until = query.until or datetime.now(UTC).replace(tzinfo=None)
        buckets = (until - query.since).total_seconds() / _BUCKET_S[bucket]
        if buckets > MAX_BUCKETS:
            raise ApiError(
                "invalid",
                f"the window holds {buckets:.0f} {bucket} buckets, more than "
                f"{MAX_BUCKETS}; use a coarser bucket or a shorter window",
            )

    document = await _compute(runtime, query)
    points = []
    for group in document["groups"]:
        figures = {name: value for name, value in group.items() if name != "key"}
        points.append({"start": group["key"]["bucket"], "kpis": figures})
    points.sort(key=lambda point: point["start"])
    return {"bucket": bucket, "window": document["window"], "points": points}
