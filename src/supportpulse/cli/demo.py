"""`supportpulse demo`: engine, API and dashboard on a throwaway store.

The engine and the API run in this process on the embedded DuckDB store; the
dashboard runs as a child process tied to this one, so Ctrl-C, --duration or
even a SIGKILL of this process leaves nothing running.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import tempfile
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from supportpulse.alerts.durations import Duration
from supportpulse.alerts.rules import AlertRule, AlertSettings, default_rules
from supportpulse.cli.context import (
    ConfigOption,
    StoreOption,
    settings_from,
    store_from,
)
from supportpulse.cli.dashboard import stop_child
from supportpulse.cli.run import _run
from supportpulse.config import Settings, SourceSettings
from supportpulse.dashboard.launch import streamlit_command, streamlit_env, url
from supportpulse.engine.runner import Engine
from supportpulse.errors import UserError
from supportpulse.processes import die_with_parent
from supportpulse.service.server import address, bind

#: Simulated history before the demo catches up with the present: enough for
#: the 24-hour window and its trend to be full.
HISTORY = timedelta(hours=48)
#: A backlog this large fires at once on the simulated desk's first hours.
DEMO_BACKLOG_LIMIT = 20.0

_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


def demo_rules() -> list[AlertRule]:
    """The default rules and one that a busy desk trips within seconds."""
    backlog = AlertRule(
        name="backlog-high",
        kpi="backlog",
        window=timedelta(hours=1),
        op=">",
        threshold=DEMO_BACKLOG_LIMIT,
        severity="critical",
    )
    return [*default_rules(), backlog]


def demo_settings(
    base: Settings,
    workdir: Path,
    replay: Path | None,
    speed: float,
    seed: int,
    api_port: int | None = None,
) -> Settings:
    """The demo's settings: one source, the demo rules, files in `workdir`."""
    if replay is not None:
        # Exports often hold a few stray old records; a demo should not sit
        # out the years between them.
        options: dict[str, Any] = {"path": str(replay), "speed": speed, "max_gap": "1s"}
        source = SourceSettings(
            name=f"replay-{replay.stem}", type="replay", options=options
        )
    else:
        options = {
            "seed": seed,
            "speed": speed,
            "per_hour": 30,
            "history": f"{HISTORY.total_seconds():.0f}s",
        }
        source = SourceSettings(name="helpdesk", type="simulated", options=options)

    engine = base.engine.model_copy(
        update={
            "status_file": str(workdir / "status.json"),
            "alert_every": timedelta(seconds=5),
        }
    )
    # Any free port unless one is asked for, so a demo never collides with a
    # service already on the default port.
    if api_port is None:
        api_port = base.service.port if "port" in base.service.model_fields_set else 0
    service = base.service.model_copy(
        update={"port": api_port, "sources_file": str(workdir / "sources.json")}
    )
    alerts = AlertSettings(rules=demo_rules(), notifications=base.alerts.notifications)
    return base.model_copy(
        update={
            "sources": [source],
            "alerts": alerts,
            "engine": engine,
            "service": service,
        }
    )


def demo(
    replay: Annotated[
        Path | None,
        typer.Option(
            help="Stream this file (CSV or JSON Lines) instead of the simulated "
            "help desk.",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            help="Stop by itself after this long, e.g. 60s or 5m.", show_default=False
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0, help="Event seconds per wall-clock second while catching up."
        ),
    ] = 3840.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulated help desk.")] = 1,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Dashboard port on 127.0.0.1.")
    ] = 8501,
    api_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="API port; default: service.port from --config, else any free port.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Run a live demo: a help desk streams into the store, the API serves it,
    and the dashboard shows it. Stops on Ctrl-C or after --duration.

    Without --store the data lives in a temporary directory removed at exit.
    """
    stop_after = _seconds(duration)
    if replay is not None and not replay.is_file():
        raise UserError(f"--replay {replay}: no such file")

    with ExitStack() as stack:
        workdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="sp-demo-"))
        )
        settings = demo_settings(
            settings_from(config), workdir, replay, speed, seed, api_port
        )
        listener = bind(settings.service)
        stack.callback(listener.close)
        api_url = address(listener)

        child = subprocess.Popen(
            streamlit_command("127.0.0.1", port),
            env=streamlit_env(api_url),
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),
        )
        stack.callback(stop_child, child)
        window = "all" if replay is not None else "24h"
        typer.echo(f"Dashboard: {url('127.0.0.1', port)}/?window={window}")
        typer.echo(f"API: {api_url}   (Ctrl-C stops the demo)")

        opened = stack.enter_context(
            store_from(store or str(workdir / "demo.duckdb"), settings, shared=True)
        )
        asyncio.run(_serve(Engine(opened, settings), settings, listener, stop_after))


async def _serve(
    engine: Engine,
    settings: Settings,
    listener: socket.socket,
    stop_after: float | None,
) -> None:
    if stop_after is not None:
        # Ending by the same signal as Ctrl-C runs the same clean shutdown.
        loop = asyncio.get_running_loop()
        loop.call_later(stop_after, signal.raise_signal, signal.SIGTERM)
    await _run(engine, settings, False, listener)


def _seconds(duration: str | None) -> float | None:
    if duration is None:
        return None
    try:
        span = _DURATION.validate_python(duration)
    except ValidationError:
        raise typer.BadParameter(
            f"'{duration}' is not a duration; use e.g. 60s, 5m or 1h",
            param_hint="--duration",
        ) from None
    if span <= timedelta(0):
        raise typer.BadParameter("must be positive", param_hint="--duration")
    return span.total_seconds()
