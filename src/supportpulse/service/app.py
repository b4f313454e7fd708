"""The FastAPI application: routes, error shapes and the OpenAPI document."""

from __future__ import annotations

from fastapi import FastAPI

from supportpulse import __version__
from supportpulse.service import metrics, stream
from supportpulse.service.errors import install_error_handlers, responses
from supportpulse.service.routes import (
    alerts,
    health,
    ingest,
    kpis,
    sources,
    tickets,
    webhooks,
)
from supportpulse.service.runtime import ServiceRuntime
from supportpulse.service.upload_guard import UploadGuard

API_PREFIX = "/api/v1"


def create_app(runtime: ServiceRuntime) -> FastAPI:
    """The API over a running engine; see docs/api.md."""
    app = FastAPI(
        title="supportpulse",
        version=__version__,
        summary="Live customer-support KPIs, sources, alerts and ingest.",
        responses=responses("not_found", "internal"),
    )
    app.state.runtime = runtime
    install_error_handlers(app)

    app.state.metrics = metrics.registry_for(runtime)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.router)
    for module in (kpis, tickets, sources, alerts, ingest, stream):
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_middleware(UploadGuard, runtime=runtime, paths={f"{API_PREFIX}/ingest"})
    return app
