"""Prometheus metrics read from the live engine at scrape time.

Every name and label is listed here, one closed vocabulary (docs/api.md):

    supportpulse_records_ingested_total{source}      counter
    supportpulse_source_errors_total{source}         counter
    supportpulse_source_retries_total{source}        counter
    supportpulse_source_lag_seconds{source}          gauge, newest record's age
    supportpulse_source_state{source,state}          gauge, 1 for the current state
    supportpulse_queue_depth                         gauge, pages waiting to be written
    supportpulse_kpi{kpi,stat}                       gauge, default window
    supportpulse_alert_state{rule,state}             gauge, groups in each state

Labels carry source and rule names from the configuration, never ticket or
customer values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from supportpulse.alerts.state import State
from supportpulse.engine.status import SourceState
from supportpulse.service.auth import Viewer
from supportpulse.service.errors import responses
from supportpulse.service.figures import Figures
from supportpulse.service.runtime import ServiceRuntime

#: (kpi, stat) label pairs and the path into a `compute_kpis` group.
KPI_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("volume", "tickets", "tickets"),
    ("volume", "messages", "messages"),
    ("backlog", "tickets", "backlog"),
    ("first_response", "p50_s", "first_response.p50_s"),
    ("first_response", "p90_s", "first_response.p90_s"),
    ("first_response", "mean_s", "first_response.mean_s"),
    ("reply_time", "p50_s", "reply_time.p50_s"),
    ("reply_time", "p90_s", "reply_time.p90_s"),
    ("resolution", "p50_s", "resolution.p50_s"),
    ("resolution", "p90_s", "resolution.p90_s"),
    ("sla_breach_rate", "rate", "sla.rate"),
    ("csat", "mean", "csat.mean"),
    ("sentiment", "mean", "sentiment.mean"),
    ("sentiment", "negative_share", "sentiment.negative_share"),
)


def _leaf(group: dict[str, Any], path: str) -> float | None:
    node: Any = group
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return None if node is None else float(node)


class EngineCollector:
    """Builds every metric family from the engine and the latest figures."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime

    def describe(self) -> list[Metric]:
        # Nothing to describe ahead: registering must not read the engine.
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._sources()
        queue = GaugeMetricFamily(
            "supportpulse_queue_depth", "Pages waiting for the store writer."
        )
        queue.add_metric([], self.runtime.engine.queue_depth)
        yield queue
        figures = self.runtime.figures.latest
        if figures is not None:
            yield self._kpis(figures)
            yield self._alerts(figures)

    def _sources(self) -> Iterator[Metric]:
        records = CounterMetricFamily(
            "supportpulse_records_ingested",
            "Records committed to the store, per source.",
            labels=["source"],
        )
        errors = CounterMetricFamily(
            "supportpulse_source_errors",
            "Failed deliveries, per source.",
            labels=["source"],
        )
        retries = CounterMetricFamily(
            "supportpulse_source_retries",
            "Failed deliveries scheduled to be tried again, per source.",
            labels=["source"],
        )
        lag = GaugeMetricFamily(
            "supportpulse_source_lag_seconds",
            "Age of the newest record a source delivered.",
            labels=["source"],
        )
        state = GaugeMetricFamily(
            "supportpulse_source_state",
            "1 for the state each source is in, 0 for the others.",
            labels=["source", "state"],
        )
        for status in self.runtime.engine.status():
            name = status["name"]
            records.add_metric([name], status["records"])
            errors.add_metric([name], status["errors"])
            retries.add_metric([name], status["retries"])
            if status["lag_s"] is not None:
                lag.add_metric([name], status["lag_s"])
            for known in SourceState:
                current = 1.0 if known.value == status["state"] else 0.0
                state.add_metric([name, known.value], current)
        yield from (records, errors, retries, lag, state)

    def _kpis(self, figures: Figures) -> Metric:
        gauge = GaugeMetricFamily(
            "supportpulse_kpi",
            "KPIs over the default window (all data up to now).",
            labels=["kpi", "stat"],
        )
        groups = figures.kpis["groups"]
        if groups:
            for kpi, stat, path in KPI_GAUGES:
                value = _leaf(groups[0], path)
                if value is not None:
                    gauge.add_metric([kpi, stat], value)
        return gauge

    def _alerts(self, figures: Figures) -> Metric:
        gauge = GaugeMetricFamily(
            "supportpulse_alert_state",
            "Groups of each alert rule in each state.",
            labels=["rule", "state"],
        )
        for rule in self.runtime.settings.alerts.rules:
            for state in State:
                count = figures.alert_states.get((rule.name, state.value), 0)
                gauge.add_metric([rule.name, state.value], count)
        return gauge


def registry_for(runtime: ServiceRuntime) -> CollectorRegistry:
    """A registry of this runtime's metrics alone, without process defaults."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(runtime))
    return registry


router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        **responses("unauthorized", "forbidden", "unavailable"),
    },
)
async def metrics(request: Request, _: Viewer) -> Response:
    """Every metric in the Prometheus text format."""
    runtime: ServiceRuntime = request.app.state.runtime
    await runtime.figures.get()
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
